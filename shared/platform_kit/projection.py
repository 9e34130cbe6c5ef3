"""Projections: read models fed from topics, each event taking effect exactly once.

A projection is two plain things: the tables of its read model (``ddl``) and a function that
applies a batch of events to them inside a transaction (``apply``). The runner does the rest:

* It is a member of the consumer group ``<schema>.<projection>``, so replicas share partitions.
* Its position is **not** committed to Kafka. The next offset of every partition is written to
  ``consumer_positions`` *in the same PostgreSQL transaction* as the read-model change, and on
  every partition assignment the consumer seeks to the stored offset. A crash anywhere means
  the transaction either happened (and its position with it) or did not.
* The relay delivers at least once, so the same event can arrive at two offsets. The ids of
  applied events go to ``applied_events`` in that same transaction, under a primary key; an id
  seen before is skipped. Two replicas racing during a rebalance are serialised by that key.
* What it cannot handle (not an envelope, an unreadable schema version, an ``apply`` that
  raises on one event) goes to the dead-letter topic ``deadletter.<schema>.<projection>`` with the
  reason in the headers, and the projection carries on. Infrastructure failures (database or
  broker unreachable) are not the event's fault: they stop the runner, which resumes from its
  stored position when restarted.
* ``rebuild`` empties the read model and the position together and reads from the beginning:
  a rebuilt view equals the live one.
"""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from platform_kit.catalogue import EventCatalogue, UnknownEventType
from platform_kit.database import apply_ddl, checked_schema
from platform_kit.envelope import Envelope
from platform_kit.kafka import group_consumer
from platform_kit.logs import get_logger
from platform_kit.topics import dead_letter_topic

log = get_logger(__name__)

KIT_DDL = """
CREATE TABLE IF NOT EXISTS {schema}.consumer_positions (
    consumer    text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    next_offset bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);
CREATE TABLE IF NOT EXISTS {schema}.applied_events (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
"""

# Failures that say nothing about the event: stop, and resume from the stored position.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)


class Projection(ABC):
    """A read model, named uniquely within its service's schema."""

    name: str
    topics: Sequence[str]
    ddl: str = ""

    @abstractmethod
    async def apply(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
        """Change the read model for ``events`` (in order, never seen before, one transaction)."""

    async def reset(self, conn: asyncpg.Connection) -> None:
        """Empty the read model before a rebuild."""


@dataclass
class RunnerStats:
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0
    assigned: set[TopicPartition] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Incoming:
    record: ConsumerRecord
    event: Envelope


@dataclass(frozen=True, slots=True)
class _DeadLetter:
    record: ConsumerRecord
    reason: str
    stage: str  # "decode": not readable; "apply": the projection refused it


class _SeekToStoredPositions(ConsumerRebalanceListener):
    def __init__(self, runner: ProjectionRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.runner.stats.assigned -= set(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        stored = await self.runner.stored_positions()
        consumer = self.runner.consumer
        assert consumer is not None
        for tp in assigned:
            if tp in stored:
                consumer.seek(tp, stored[tp])
        self.runner.stats.assigned |= set(assigned)
        log.info("projection.assigned", projection=self.runner.name, partitions=len(assigned))


class ProjectionRunner:
    def __init__(
        self,
        projection: Projection,
        *,
        pool: asyncpg.Pool,
        schema: str,
        bootstrap_servers: str,
        producer: AIOKafkaProducer,
        catalogue: EventCatalogue | None = None,
        batch_size: int = 2000,
    ) -> None:
        self.projection = projection
        self.name = projection.name
        self.pool = pool
        self.schema = checked_schema(schema)
        self.group_id = f"{self.schema}.{self.name}"  # replicas of one service share its work
        self.bootstrap_servers = bootstrap_servers
        self.producer = producer
        self.catalogue = catalogue
        self.batch_size = batch_size
        self.dead_letter_topic = dead_letter_topic(self.group_id)
        self.consumer: AIOKafkaConsumer | None = None
        self.stats = RunnerStats()
        self._rebuild_requested = False

    async def setup(self) -> None:
        await apply_ddl(self.pool, self.schema, KIT_DDL)
        if self.projection.ddl:
            await apply_ddl(self.pool, self.schema, self.projection.ddl)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set.

        While one batch's transaction runs in PostgreSQL, the next batch is fetched and decoded
        (work that stores nothing); the transactions themselves still run one at a time, in
        the order of the records, so nothing about what is stored changes."""
        self.consumer = group_consumer(self.bootstrap_servers, group_id=self.group_id)
        self.consumer.subscribe(list(self.projection.topics), listener=_SeekToStoredPositions(self))
        await self.consumer.start()
        committing: asyncio.Task[None] | None = None
        try:
            while not stop.is_set():
                if committing is not None and (committing.done() or self._rebuild_requested):
                    await committing  # a failed transaction stops the runner here, as it always did
                    committing = None
                if self._rebuild_requested:
                    await self._rebuild_now()
                batch = await self.consumer.getmany(timeout_ms=200, max_records=self.batch_size)
                records = [record for records in batch.values() for record in records]
                if records:
                    decoded = self._decode(records)
                    if committing is not None:
                        await committing
                    committing = asyncio.create_task(self._commit(records, *decoded))
            if committing is not None:
                await committing
        finally:
            if committing is not None and not committing.done():
                committing.cancel()  # we are failing or being cancelled: its transaction rolls back
                await asyncio.gather(committing, return_exceptions=True)
            await self.consumer.stop()
            self.consumer = None

    def request_rebuild(self) -> None:
        """Empty the read model and read every topic again from its beginning (while running)."""
        self._rebuild_requested = True

    async def reset(self) -> None:
        """Empty the read model and forget the position: the next run starts from the beginning."""
        async with self.pool.acquire() as conn, conn.transaction():
            await self.projection.reset(conn)
            await conn.execute(f"DELETE FROM {self.schema}.consumer_positions WHERE consumer = $1", self.name)
            await conn.execute(f"DELETE FROM {self.schema}.applied_events WHERE consumer = $1", self.name)

    async def _rebuild_now(self) -> None:
        assert self.consumer is not None
        await self.reset()
        if self.consumer.assignment():
            await self.consumer.seek_to_beginning(*self.consumer.assignment())
        self._rebuild_requested = False
        log.info("projection.rebuilding", projection=self.name)

    async def stored_positions(self) -> dict[TopicPartition, int]:
        rows = await self.pool.fetch(
            f"SELECT topic, partition, next_offset FROM {self.schema}.consumer_positions WHERE consumer = $1",
            self.name,
        )
        return {TopicPartition(row["topic"], row["partition"]): row["next_offset"] for row in rows}

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        """Apply one batch of records: read-model change, applied ids and positions in one
        transaction; dead letters are acknowledged by Kafka before that transaction commits."""
        await self._commit(records, *self._decode(records))

    async def _commit(
        self, records: Sequence[ConsumerRecord], incoming: list[_Incoming], unreadable: list[_DeadLetter]
    ) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await self._first_sightings(conn, incoming)
            refused = await self._apply(conn, fresh)
            await self._dead_letter(unreadable + refused)
            await self._store_positions(conn, records)
        self.stats.batches += 1
        self.stats.duplicates += len(incoming) - len(fresh)
        self.stats.applied += len(fresh) - len(refused)
        self.stats.dead_lettered += len(unreadable) + len(refused)

    def _decode(self, records: Sequence[ConsumerRecord]) -> tuple[list[_Incoming], list[_DeadLetter]]:
        incoming: list[_Incoming] = []
        dead: list[_DeadLetter] = []
        for record in records:
            try:
                event = Envelope.from_bytes(record.value)
                if self.catalogue is not None and self.catalogue.knows(event.event_type):
                    event = self.catalogue.upcast(event)
            except ValidationError as error:
                dead.append(_DeadLetter(record, f"not a valid envelope: {_summarise(error)}", "decode"))
            except (ValueError, UnknownEventType) as error:
                dead.append(_DeadLetter(record, str(error), "decode"))
            else:
                incoming.append(_Incoming(record, event))
        return incoming, dead

    async def _first_sightings(self, conn: asyncpg.Connection, incoming: list[_Incoming]) -> list[_Incoming]:
        if not incoming:
            return []
        ids = [item.event.event_id for item in incoming]
        if len(set(ids)) == len(ids):
            # The common case, no id seen before: a plain insert, several times cheaper than
            # ON CONFLICT ... RETURNING. In a savepoint, so that an id applied before (or by a
            # racing replica, once it commits) fails this insert only, and the careful way
            # below then sorts the batch out.
            try:
                async with conn.transaction():
                    await conn.execute(
                        f"INSERT INTO {self.schema}.applied_events (consumer, event_id) SELECT $1, unnest($2::uuid[])",
                        self.name,
                        ids,
                    )
                return list(incoming)
            except asyncpg.UniqueViolationError:
                pass
        new_ids = {
            row["event_id"]
            for row in await conn.fetch(
                f"INSERT INTO {self.schema}.applied_events (consumer, event_id) "
                "SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id",
                self.name,
                ids,
            )
        }
        fresh: list[_Incoming] = []
        for item in incoming:
            if item.event.event_id in new_ids:
                new_ids.discard(item.event.event_id)  # a repeat within the same batch counts once
                fresh.append(item)
        return fresh

    async def _apply(self, conn: asyncpg.Connection, fresh: list[_Incoming]) -> list[_DeadLetter]:
        if not fresh:
            return []
        try:
            async with conn.transaction():
                await self.projection.apply(conn, [item.event for item in fresh])
            return []
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception:
            pass  # some event in the batch is poison: find it by applying them one by one
        dead: list[_DeadLetter] = []
        for item in fresh:
            try:
                async with conn.transaction():
                    await self.projection.apply(conn, [item.event])
            except INFRASTRUCTURE_ERRORS:
                raise
            except Exception as error:
                dead.append(_DeadLetter(item.record, f"{type(error).__name__}: {error}", "apply"))
                await self._forget(conn, item.event.event_id)
        return dead

    async def _forget(self, conn: asyncpg.Connection, event_id: uuid.UUID) -> None:
        # A dead-lettered event did not take effect; replaying it once fixed must apply it.
        await conn.execute(
            f"DELETE FROM {self.schema}.applied_events WHERE consumer = $1 AND event_id = $2", self.name, event_id
        )

    async def _dead_letter(self, dead: list[_DeadLetter]) -> None:
        sends = []
        for letter in dead:
            record, reason, stage = letter.record, letter.reason, letter.stage
            log.warning(
                "projection.dead_letter",
                projection=self.name,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                stage=stage,
                reason=reason,
            )
            headers = [
                ("reason", reason.encode()),
                ("stage", stage.encode()),
                ("consumer", self.name.encode()),
                ("original_topic", record.topic.encode()),
                ("original_partition", str(record.partition).encode()),
                ("original_offset", str(record.offset).encode()),
            ]
            sends.append(
                await self.producer.send(self.dead_letter_topic, value=record.value, key=record.key, headers=headers)
            )
        await asyncio.gather(*sends)

    async def _store_positions(self, conn: asyncpg.Connection, records: Sequence[ConsumerRecord]) -> None:
        next_offsets: dict[tuple[str, int], int] = {}
        for record in records:
            key = (record.topic, record.partition)
            next_offsets[key] = max(next_offsets.get(key, 0), record.offset + 1)
        await conn.executemany(
            f"INSERT INTO {self.schema}.consumer_positions (consumer, topic, partition, next_offset) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (consumer, topic, partition) DO UPDATE "
            "SET next_offset = greatest(consumer_positions.next_offset, EXCLUDED.next_offset), updated_at = now()",
            [(self.name, topic, partition, offset) for (topic, partition), offset in next_offsets.items()],
        )


def _summarise(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in error.errors()[:5])
