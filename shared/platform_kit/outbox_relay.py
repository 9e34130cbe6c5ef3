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

A leader whose connection hangs (a network partition, a frozen host) must not keep the lock
for the two hours of PostgreSQL's default keepalives. The leader's connection therefore has:
TCP keepalives on both ends (server ``tcp_keepalives_*``, client ``SO_KEEPALIVE``/``TCP_KEEP*``),
a command timeout on every statement, an ``idle_session_timeout`` (the *lease*: the server
ends a session that says nothing for ``lease_seconds``, which releases the lock), and a lease
check (``SELECT 1``) at least every ``lease_seconds / 3`` while it leads. A leader whose
statement times out gives up leadership, drops the connection and stands by again.

Poison is parked, never a stall: a record the broker refuses as too large (or larger than
``max_message_bytes`` before it is sent) goes to ``outbox_parked`` with the reason, and its
outbox row is deleted in the same transaction; the others are published. After any failed
send the producer is replaced (an idempotent producer whose batch failed is left with broken
sequence numbers, ``OutOfOrderSequenceNumber``, until it is recreated) when the relay was
given a ``producer_factory``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from platform_kit import cloudevents, tracing
from platform_kit.database import checked_schema, connect
from platform_kit.logs import get_logger

log = get_logger(__name__)

_TOO_LARGE = (MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError)
# Kafka's default message.max.bytes is 1,048,588; keep clear of it (key and framing).
DEFAULT_MAX_MESSAGE_BYTES = 1_000_000

ProducerFactory = Callable[[], Awaitable[AIOKafkaProducer]]


class LeaseLost(Exception):
    """The leader's connection stopped answering: it no longer holds the lock for sure."""


_MESSAGE_SQL = """
SELECT o.position, e.stream_id, o.traceparent,
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
        producer: AIOKafkaProducer | None = None,
        producer_factory: ProducerFactory | None = None,
        batch_size: int = 5000,
        idle_poll_seconds: float = 0.5,
        after_publish: AfterPublish | None = None,
        lease_seconds: float = 30.0,
        command_timeout: float | None = None,
        standby_poll_seconds: float = 2.0,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        """``after_publish`` runs after Kafka acknowledged a batch and before its rows are
        deleted: the window a crash test aims at.

        Give ``producer_factory`` (an async callable returning a *started* producer the relay
        then owns and stops) so the relay can replace its producer after a failed send;
        ``producer`` (shared, owned by the caller) still works but cannot be replaced."""
        if producer is None and producer_factory is None:
            raise ValueError("producer: give the relay a producer or a producer_factory")
        self.database_url = database_url
        self.schema = checked_schema(schema)
        self.topic = topic
        self.producer = producer
        self.producer_factory = producer_factory
        self._owns_producer = False
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.after_publish = after_publish
        self.lease_seconds = lease_seconds
        self.command_timeout = command_timeout if command_timeout is not None else max(1.0, lease_seconds / 3)
        self.standby_poll_seconds = standby_poll_seconds
        self.max_message_bytes = max_message_bytes
        self.published = 0
        self.parked = 0
        self.producers_replaced = 0
        self.is_leader = False
        self.last_error: str | None = None
        self._sql = _MESSAGE_SQL.format(schema=self.schema)
        self._wake = asyncio.Event()
        self._lease_checked = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set. Waits as a standby while another relay leads; a
        leader that loses its connection stands by again (and may lead again)."""
        if self.producer is None:
            await self._replace_producer()
        try:
            delay = 0.5
            while not stop.is_set():
                try:
                    await self._lead(stop)
                    delay = 0.5
                except Exception as error:
                    if not _relay_can_retry(error):
                        raise
                    self.last_error = f"{type(error).__name__}: {error}"[:300]
                    log.warning("relay.lost_connection", schema=self.schema, error=self.last_error, retry_in=delay)
                    await _wait(stop, delay)
                    delay = min(delay * 2, 10.0)
        finally:
            if self._owns_producer and self.producer is not None:
                with contextlib.suppress(Exception):
                    await self.producer.stop()
                self.producer = None

    async def _lead(self, stop: asyncio.Event) -> None:
        conn = await self._connect()
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
                    await self._check_lease(conn)
        finally:
            self.is_leader = False
            # terminate, not close: a graceful close waits for a server that may not answer.
            conn.terminate()

    async def _connect(self) -> asyncpg.Connection:
        return await connect(
            self.database_url,
            command_timeout=self.command_timeout,
            connect_timeout=max(self.command_timeout, 5.0),
            keepalive_seconds=max(1, int(self.lease_seconds / 3)),
            server_settings={
                # The lease: a leader that says nothing for this long loses its session and
                # with it the lock. A healthy leader speaks every idle poll.
                "idle_session_timeout": f"{int(self.lease_seconds * 1000)}",
                "idle_in_transaction_session_timeout": f"{int(self.lease_seconds * 1000)}",
            },
        )

    async def _become_leader(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        key = f"outbox-relay:{self.schema}"
        while not stop.is_set():
            if await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", key):
                self.is_leader = True
                self._lease_checked = time.monotonic()
                return
            log.info("relay.standby", schema=self.schema)
            await _wait(stop, self.standby_poll_seconds)

    async def _check_lease(self, conn: asyncpg.Connection) -> None:
        if time.monotonic() - self._lease_checked < self.lease_seconds / 3:
            return
        try:
            await conn.fetchval("SELECT 1", timeout=self.command_timeout)
        except (TimeoutError, OSError, asyncpg.InterfaceError, asyncpg.PostgresError) as error:
            raise LeaseLost(f"the leader's connection did not answer: {type(error).__name__}") from error
        self._lease_checked = time.monotonic()

    async def _idle(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        await asyncio.wait(waiters, timeout=self.idle_poll_seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def _replace_producer(self) -> None:
        if self.producer_factory is None:
            return
        old, self.producer = self.producer, None
        if old is not None and self._owns_producer:
            with contextlib.suppress(Exception):
                await old.stop()
        self.producer = await self.producer_factory()
        self._owns_producer = True
        self.producers_replaced += 1

    async def publish_batch(self, conn: asyncpg.Connection) -> int:
        """Publish the oldest unpublished events; returns how many rows left the outbox
        (published or parked)."""
        rows = await conn.fetch(self._sql, self.batch_size)
        if not rows:
            return 0
        self._lease_checked = time.monotonic()
        parked = {
            row["position"]: f"message of {len(row['message'].encode())} bytes exceeds max_message_bytes "
            f"{self.max_message_bytes}"
            for row in rows
            if len(row["message"].encode()) > self.max_message_bytes
        }
        sendable = [row for row in rows if row["position"] not in parked]
        sent: list[int] = []
        failed: list[asyncpg.Record] = []
        errors: list[BaseException] = []
        for positions, outcome in await self._send_and_wait(sendable):
            if isinstance(outcome, BaseException):
                errors.append(outcome)
                failed.extend(row for row in sendable if row["position"] in positions)
            else:
                sent.extend(positions)
        if errors:
            log.warning(
                "relay.send_failed", schema=self.schema, error=f"{type(errors[0]).__name__}: {errors[0]}"[:300],
                rows=len(failed),
            )
            await self._replace_producer()
            if not any(isinstance(error, _TOO_LARGE) for error in errors):
                # Not the records' fault: the whole batch goes again (at least once) later.
                self.last_error = f"{type(errors[0]).__name__}: {errors[0]}"[:300]
                raise errors[0]
            # Find the record(s) the broker refuses, one at a time, in position order.
            for row in sorted(failed, key=lambda r: r["position"]):
                ((_, outcome),) = await self._send_and_wait([row])
                if isinstance(outcome, _TOO_LARGE):
                    parked[row["position"]] = f"refused by Kafka: {type(outcome).__name__}: {outcome}"[:1000]
                    await self._replace_producer()
                elif isinstance(outcome, BaseException):
                    await self._replace_producer()
                    raise outcome
                else:
                    sent.append(row["position"])
        if self.after_publish is not None:
            await self.after_publish(sent)
        async with conn.transaction():
            if parked:
                await conn.executemany(
                    f"INSERT INTO {self.schema}.outbox_parked (position, reason) VALUES ($1, $2) "
                    "ON CONFLICT (position) DO NOTHING",
                    list(parked.items()),
                )
                for position, reason in parked.items():
                    log.error("relay.parked", schema=self.schema, position=position, reason=reason)
            await conn.execute(
                f"DELETE FROM {self.schema}.outbox WHERE position = ANY($1::bigint[])", sent + list(parked)
            )
        self.published += len(sent)
        self.parked += len(parked)
        return len(rows)

    async def _send_and_wait(self, rows: Sequence[asyncpg.Record]) -> list[tuple[set[int], object]]:
        """Send ``rows`` and wait for Kafka: per record batch, its positions and either its
        acknowledgement or the exception that failed it."""
        if not rows:
            return []
        try:
            acks = await self._send(rows)
        except KafkaError as error:  # refused before anything was queued for a batch
            return [({row["position"] for row in rows}, error)]
        outcomes = await asyncio.gather(*(ack for ack, _ in acks), return_exceptions=True)
        return [(positions, outcome) for (_, positions), outcome in zip(acks, outcomes, strict=True)]

    async def _send(self, rows: Sequence[asyncpg.Record]) -> list[tuple[asyncio.Future, set[int]]]:
        """Send the rows, in position order, each to the partition of its key as Kafka's
        default partitioner chooses it; returns the futures of Kafka's acknowledgements, each
        with the positions in its record batch.

        The rows are packed into one record batch per partition here (a full one is sent and
        a new one begun): ``producer.send`` per message costs several times the CPU. Within a
        partition, batches go out in the order they were filled, so each stream stays in order.
        """
        producer = self.producer
        assert producer is not None
        partitions = sorted(await producer.partitions_for(self.topic))
        batches: dict[int, tuple[BatchBuilder, set[int]]] = {}
        acks: list[tuple[asyncio.Future, set[int]]] = []
        for row in rows:
            key, value = row["stream_id"].encode(), row["message"].encode()
            headers = cloudevents.headers(row["message"])
            if row["traceparent"] is not None:
                headers.append((tracing.TRACEPARENT, row["traceparent"].encode()))
            partition = _PARTITIONER(key, partitions, partitions)
            entry = batches.get(partition)
            if entry is None or entry[0].append(key=key, value=value, timestamp=None, headers=headers) is None:
                if entry is not None:
                    acks.append((await producer.send_batch(entry[0], self.topic, partition=partition), entry[1]))
                entry = batches[partition] = (producer.create_batch(), set())
                entry[0].append(key=key, value=value, timestamp=None, headers=headers)  # an empty batch takes any record
            entry[1].add(row["position"])
        for partition, (batch, positions) in batches.items():
            acks.append((await producer.send_batch(batch, self.topic, partition=partition), positions))
        return acks

    async def pending(self, conn: asyncpg.Connection) -> int:
        return await conn.fetchval(f"SELECT count(*) FROM {self.schema}.outbox")


def _relay_can_retry(error: BaseException) -> bool:
    """Failures after which the relay reconnects and stands by again, rather than dying."""
    if isinstance(error, LeaseLost | TimeoutError | OSError | KafkaError | asyncpg.InterfaceError):
        return True
    if isinstance(error, asyncpg.PostgresError):
        state = getattr(error, "sqlstate", None) or ""
        return state[:2] in {"08", "40", "53", "57", "58"} or state in {"55P03", "25006"}
    return False


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
