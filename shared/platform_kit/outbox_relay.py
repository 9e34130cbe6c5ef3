"""The relay: publishes what the event store committed, in commit order, and nothing else.

The outbox row of an event is written in the same transaction as the event, so nothing is
published that was not committed and nothing committed lacks an outbox row. The relay reads
outbox rows in position order, sends them with the idempotent producer (key = stream_id,
so one stream stays on one partition, in order), waits until Kafka has acknowledged all of
them, and only then deletes the rows.

A crash between Kafka's acknowledgement and the delete means the batch is sent again on
restart: delivery is *at least once*, and every consumer deduplicates on ``event_id``
(:mod:`platform_kit.projection` does). It can never be *at most once*, which would lose facts.

Only one relay per store publishes at a time: it holds a PostgreSQL advisory lock on its own
connection. A second replica waits as a standby and takes over when that connection dies, so
two relays never interleave and per-stream order holds across fail-over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from platform_kit import cloudevents
from platform_kit.database import checked_schema, connect
from platform_kit.logs import get_logger

log = get_logger(__name__)

# The published message is the envelope as JSON, built by PostgreSQL from the stored row.
# Timestamps come out as ISO 8601 with offset (the session speaks UTC). The lower bound on
# e.position changes no result; it lets the join start reading events at the oldest
# unpublished one, where without it the merge join reads every published event again on
# every batch (a cost that grows with the store).
_MESSAGE_SQL = """
SELECT o.position, e.stream_id,
       json_build_object(
           'event_id', e.event_id, 'event_type', e.event_type, 'schema_version', e.schema_version,
           'stream_id', e.stream_id, 'stream_version', e.stream_version,
           'occurred_at', e.occurred_at, 'recorded_at', e.recorded_at, 'unit_code', e.unit_code,
           'source', e.source, 'correlation_id', e.correlation_id, 'causation_id', e.causation_id,
           'payload', e.payload
       )::text AS message
FROM {schema}.outbox o JOIN {schema}.events e USING (position)
WHERE e.position >= (SELECT min(position) FROM {schema}.outbox)
ORDER BY o.position
LIMIT $1
"""

AfterPublish = Callable[[Sequence[int]], Awaitable[None]]

# Key -> partition as every Kafka client does by default (murmur2 of the key), so a stream
# lands on the partition any other producer would choose for it.
_PARTITIONER = DefaultPartitioner()


class OutboxRelay:
    def __init__(
        self,
        *,
        database_url: str,
        schema: str,
        topic: str,
        producer: AIOKafkaProducer,
        batch_size: int = 5000,
        idle_poll_seconds: float = 0.5,
        after_publish: AfterPublish | None = None,
    ) -> None:
        """``after_publish`` runs after Kafka acknowledged a batch and before its rows are
        deleted: the window a crash test aims at."""
        self.database_url = database_url
        self.schema = checked_schema(schema)
        self.topic = topic
        self.producer = producer
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.after_publish = after_publish
        self.published = 0
        self.is_leader = False
        self._sql = _MESSAGE_SQL.format(schema=self.schema)
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set. Waits as a standby while another relay leads."""
        conn = await connect(self.database_url)
        try:
            await self._become_leader(conn, stop)
            if stop.is_set():
                return
            await conn.add_listener(f"{self.schema}_events", lambda *_: self._wake.set())
            log.info("relay.leading", schema=self.schema, topic=self.topic)
            while not stop.is_set():
                # Cleared before reading, not before waiting: an append that commits while a
                # batch is being published must cut the idle wait short, not be noticed only
                # at the next poll.
                self._wake.clear()
                if await self.publish_batch(conn) < self.batch_size:
                    await self._idle(stop)
        finally:
            self.is_leader = False
            await conn.close()

    async def _become_leader(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        key = f"outbox-relay:{self.schema}"
        while not stop.is_set():
            if await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", key):
                self.is_leader = True
                return
            log.info("relay.standby", schema=self.schema)
            await _wait(stop, 2.0)

    async def _idle(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        await asyncio.wait(waiters, timeout=self.idle_poll_seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def publish_batch(self, conn: asyncpg.Connection) -> int:
        """Publish the oldest unpublished events; returns how many."""
        rows = await conn.fetch(self._sql, self.batch_size)
        if not rows:
            return 0
        await asyncio.gather(*await self._send(rows))
        positions = [row["position"] for row in rows]
        if self.after_publish is not None:
            await self.after_publish(positions)
        await conn.execute(f"DELETE FROM {self.schema}.outbox WHERE position = ANY($1::bigint[])", positions)
        self.published += len(rows)
        return len(rows)

    async def _send(self, rows: Sequence[asyncpg.Record]) -> list[asyncio.Future]:
        """Send the rows, in position order, each to the partition of its key as Kafka's
        default partitioner chooses it; returns the futures of Kafka's acknowledgements.

        The rows are packed into one record batch per partition here (a full one is sent and
        a new one begun): ``producer.send`` per message costs several times the CPU. Within a
        partition, batches go out in the order they were filled, so each stream stays in order.
        """
        partitions = sorted(await self.producer.partitions_for(self.topic))
        batches: dict[int, BatchBuilder] = {}
        acks: list[asyncio.Future] = []
        for row in rows:
            key, value = row["stream_id"].encode(), row["message"].encode()
            headers = cloudevents.headers(row["message"])
            partition = _PARTITIONER(key, partitions, partitions)
            batch = batches.get(partition)
            if batch is None or batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                if batch is not None:
                    acks.append(await self.producer.send_batch(batch, self.topic, partition=partition))
                batch = batches[partition] = self.producer.create_batch()
                batch.append(key=key, value=value, timestamp=None, headers=headers)  # an empty batch takes any record
        for partition, batch in batches.items():
            acks.append(await self.producer.send_batch(batch, self.topic, partition=partition))
        return acks

    async def pending(self, conn: asyncpg.Connection) -> int:
        return await conn.fetchval(f"SELECT count(*) FROM {self.schema}.outbox")


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
