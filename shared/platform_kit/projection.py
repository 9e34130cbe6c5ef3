"""Projections: read models fed from topics, each event taking effect exactly once.

A projection is two plain things: the tables of its read model (``ddl``) and a function that
applies a batch of events to them inside a transaction (``apply``). The runner does the rest:

* It is a member of the consumer group ``<schema>.<projection>``, so replicas share partitions.
* Its position is **not** committed to Kafka. The next offset of every partition is written to
  ``consumer_positions`` *in the same PostgreSQL transaction* as the read-model change, and on
  every partition assignment the consumer seeks to the stored offset. The consumer never
  resets on its own (``auto_offset_reset="none"``): a partition without a stored position is
  sought to its beginning explicitly, and an assignment whose seek failed is sought again
  before anything is fetched from it, never read from a guessed offset.
* The relay delivers at least once, so the same event can arrive at two offsets. Idempotence
  is a per-stream high-water mark: a stream's events arrive in ``stream_version`` order on
  one partition, so ``applied_stream_versions`` keeps (projection, stream) -> last applied
  version, written in that same transaction, and an event at or below the mark is skipped.
  The table has one row per stream, not per event. Two replicas racing during a rebalance
  are serialised by the row lock on the mark.
* What is the event's fault (not an envelope, a payload the reader's model refuses, a
  projection raising :class:`PoisonEvent`, ``ValueError``/``LookupError``/``TypeError``, or a
  PostgreSQL data or constraint error, SQLSTATE classes 22 and 23) goes to the dead-letter topic
  ``deadletter.<schema>.<projection>`` with the reason in the headers, and the projection
  carries on; its id is remembered in ``parked_events`` so that a replay applies it.
* What is not the event's fault is never dead-lettered. Transient failures (:func:`is_transient`:
  connection loss, serialization failure, deadlock, lock or statement timeout, lack of
  resources, shutdown) make the runner wait with back-off and retry the batch from its stored
  position. An event of a newer ``schema_version`` than the reader knows pauses its partition
  (readiness says why) until this reader is upgraded. Anything else (a bug in the projection)
  stops the runner, which resumes from its stored position when restarted.
* ``rebuild`` is group-wide: it bumps the projection's *generation* in PostgreSQL and empties
  the read model, positions and marks in the same transaction. Every replica checks the
  generation in each batch's transaction (and polls it while idle); a replica that sees a
  new one discards what it holds and seeks all its partitions back to the (now empty) stored
  positions, i.e. to the beginning. A rebuilt view equals the live one, with any number of
  replicas.
* A rebuild records the end offset of every partition as it began (``rebuild_targets``). The
  batch whose stored positions reach them all, on whichever replica, calls the projection's
  ``replayed`` in its transaction: history is in, with or without new traffic after it (a
  projection that applies history in bulk finishes its view there).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError, NoOffsetForPartitionError
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from platform_kit import tracing
from platform_kit.catalogue import EventCatalogue, UnknownEventType, UnsupportedSchemaVersion
from platform_kit.database import apply_ddl, checked_schema
from platform_kit.envelope import Envelope
from platform_kit.kafka import ensure_topics, group_consumer, stop_consumer
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
CREATE TABLE IF NOT EXISTS {schema}.applied_stream_versions (
    consumer  text    NOT NULL,
    stream_id text    NOT NULL,
    version   integer NOT NULL,
    PRIMARY KEY (consumer, stream_id)
);
CREATE TABLE IF NOT EXISTS {schema}.parked_events (
    consumer  text        NOT NULL,
    event_id  uuid        NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
CREATE TABLE IF NOT EXISTS {schema}.rebuild_targets (
    consumer   text    NOT NULL,
    topic      text    NOT NULL,
    partition  integer NOT NULL,
    end_offset bigint  NOT NULL,
    PRIMARY KEY (consumer, topic, partition)
);
CREATE TABLE IF NOT EXISTS {schema}.projection_generations (
    consumer   text        PRIMARY KEY,
    generation bigint      NOT NULL DEFAULT 0,
    rebuilt_at timestamptz
);
"""

# SQLSTATEs that say nothing about the event: the database cannot do the work *now*.
#   08 connection exception          40 transaction rollback (40001 serialization, 40P01 deadlock)
#   53 insufficient resources        57 operator intervention (57014 statement timeout or cancel,
#      (disk full, out of memory,       57P01 admin shutdown, 57P03 cannot connect now, ...)
#       too many connections)        58 system error (I/O)
#   XX internal error (corruption: never the event's fault; stop and page, do not skip)
#   55P03 lock_not_available (lock_timeout), 55006 object_in_use
#   25006 read_only_sql_transaction (a fail-over left us on a standby), 25P03 idle-in-tx timeout
# Not transient: 22 data exception and 23 integrity violation (the event's fault: poison);
# 42 syntax/undefined object and 54 program limit (a bug in the projection: stop, do not skip).
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58", "XX"})
TRANSIENT_SQLSTATES = frozenset({"55P03", "55006", "25006", "25P03"})
POISON_SQLSTATE_CLASSES = frozenset({"22", "23"})


class PoisonEvent(Exception):
    """Raise from ``apply`` when an event cannot take effect, ever: it is dead-lettered."""


def is_transient(error: BaseException) -> bool:
    """True when ``error`` says the infrastructure cannot do the work now (retry later from
    the stored position); False when it may be the event's fault or a bug.

    By SQLSTATE for PostgreSQL errors (see ``TRANSIENT_SQLSTATE_CLASSES``); connection-level
    errors (``OSError``, timeouts, asyncpg's interface errors other than bad values) and every
    Kafka client error are transient too."""
    if isinstance(error, asyncpg.PostgresError):
        state = getattr(error, "sqlstate", None) or ""
        return state in TRANSIENT_SQLSTATES or state[:2] in TRANSIENT_SQLSTATE_CLASSES
    if isinstance(error, asyncpg.InterfaceError):
        return not isinstance(error, ValueError)  # asyncpg's client-side DataError is a bad value
    return isinstance(error, OSError | TimeoutError | KafkaError)


def is_poison(error: BaseException) -> bool:
    """True when ``error`` is the event's fault: dead-letter it and carry on."""
    if isinstance(error, asyncpg.PostgresError):
        return (getattr(error, "sqlstate", None) or "")[:2] in POISON_SQLSTATE_CLASSES
    if is_transient(error):
        return False
    return isinstance(error, PoisonEvent | ValidationError | ValueError | LookupError | TypeError)


# For ``except`` clauses (services' ingest uses the old name): the exception classes that
# :func:`is_transient` accepts. ``is_transient`` is the precise test (it also reads SQLSTATEs
# asyncpg has no class for, and refuses asyncpg's client-side DataError).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    KafkaError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.TransactionRollbackError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.PostgresSystemError,
    asyncpg.exceptions.InternalServerError,
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.ObjectInUseError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    asyncpg.exceptions.IdleInTransactionSessionTimeoutError,
)
INFRASTRUCTURE_ERRORS = TRANSIENT_ERRORS  # the old name, kept for services that import it


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

    async def replayed(self, conn: asyncpg.Connection) -> None:
        """Every event a rebuild found on its topics when it began is applied (called once per
        rebuild, in the transaction of the batch that applied the last of them, or of the reset
        when there was nothing to read)."""


@dataclass
class RunnerStats:
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0
    retries: int = 0
    resyncs: int = 0
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
    event_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class PausedPartition:
    offset: int
    reason: str
    since: float


class _Refused(Exception):
    def __init__(self, letters: list[_DeadLetter]) -> None:
        super().__init__(f"{len(letters)} events refused")
        self.letters = letters


class _Rebuilt(Exception):
    """Another replica (or this one) rebuilt the projection: what this replica holds is stale."""


class _SeekToStoredPositions(ConsumerRebalanceListener):
    def __init__(self, runner: ProjectionRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.runner.stats.assigned -= set(revoked)
        for tp in revoked:
            self.runner.paused.pop(tp, None)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # aiokafka logs and swallows an exception raised here, then fetches from the
        # partitions it could not position with its reset policy. Ours is "none", so nothing
        # is fetched from them; the runner notices the failure and seeks them again.
        self.runner.stats.assigned |= set(assigned)
        # The runner's loop may fetch while this seek is on its way (the partitions are assigned
        # before this is called): it waits for the seek rather than positioning them itself,
        # which this seek, acting on the positions it read before, would rewind.
        self.runner._positioned.clear()
        try:
            await self.runner._seek_to_stored(assigned)
        except Exception as error:
            self.runner._needs_resync = True
            log.warning(
                "projection.assignment_failed", projection=self.runner.name, error=f"{type(error).__name__}: {error}"
            )
            return
        finally:
            self.runner._positioned.set()
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
        generation_poll_seconds: float = 1.0,
        paused_retry_seconds: float = 30.0,
        max_backoff_seconds: float = 30.0,
        topic_partitions: int = 3,
        topic_replication_factor: int = 1,
    ) -> None:
        self.projection = projection
        self.name = projection.name
        self.pool = pool
        self.schema = checked_schema(schema)
        self.group_id = f"{self.schema}.{self.name}"  # replicas of one service share its work
        self.bootstrap_servers = bootstrap_servers
        self.producer = producer
        self.catalogue = catalogue
        # Records read by the hold-back check, by (topic, partition, offset): their envelopes.
        self._parsed: dict[tuple[str, int, int], Envelope] = {}
        self.batch_size = batch_size
        self.generation_poll_seconds = generation_poll_seconds
        self.paused_retry_seconds = paused_retry_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.topic_partitions = topic_partitions
        self.topic_replication_factor = topic_replication_factor
        self.dead_letter_topic = dead_letter_topic(self.group_id)
        self.consumer: AIOKafkaConsumer | None = None
        self.stats = RunnerStats()
        self.paused: dict[TopicPartition, PausedPartition] = {}
        self.last_error: str | None = None
        self._rebuild_requested = False
        self._needs_resync = False
        self._positioned = asyncio.Event()  # clear while an assignment's seek is on its way
        self._positioned.set()
        self._generation: int | None = None
        self._generation_checked = 0.0
        self._failures = 0

    async def setup(self) -> None:
        await apply_ddl(self.pool, self.schema, KIT_DDL)
        if self.projection.ddl:
            await apply_ddl(self.pool, self.schema, self.projection.ddl)
        await self.pool.execute(
            f"INSERT INTO {self.schema}.projection_generations (consumer) VALUES ($1) ON CONFLICT DO NOTHING",
            self.name,
        )
        # Explicitly, with the platform's partitioning, kept forever: never left to the
        # broker's auto-creation (one partition, a week's retention).
        await ensure_topics(
            self.bootstrap_servers,
            [self.dead_letter_topic],
            partitions=self.topic_partitions,
            replication_factor=self.topic_replication_factor,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set.

        While one batch's transaction runs in PostgreSQL, the next batch is fetched and decoded
        (work that stores nothing); the transactions themselves still run one at a time, in
        the order of the records, so nothing about what is stored changes. A transient failure
        (or a rebuild by another replica) throws away what is held and seeks back to the
        stored positions, after a back-off."""
        self.consumer = group_consumer(self.bootstrap_servers, group_id=self.group_id, auto_offset_reset="none")
        self.consumer.subscribe(list(self.projection.topics), listener=_SeekToStoredPositions(self))
        await self.consumer.start()
        committing: asyncio.Task[None] | None = None
        try:
            while not stop.is_set():
                try:
                    if committing is not None and (committing.done() or self._rebuild_requested):
                        task, committing = committing, None
                        await task
                        self._succeeded()
                    if self._rebuild_requested:
                        await self._rebuild_now()
                    if self._needs_resync:
                        if committing is not None:  # its positions first, or we would read it again
                            task, committing = committing, None
                            await task
                            self._succeeded()
                        await self._resync()
                    await self._watch_generation(committing)
                    self._retry_paused()
                    try:
                        batch = await self.consumer.getmany(timeout_ms=200, max_records=self.batch_size)
                    except (NoOffsetForPartitionError, IllegalStateError) as error:
                        if not self._positioned.is_set():  # the assignment's seek is on its way
                            await self._positioned.wait()
                            continue
                        # A partition nobody positioned (its seek failed): position it now.
                        log.warning("projection.unpositioned", projection=self.name, error=str(error))
                        self._needs_resync = True
                        continue
                    records = self._hold_back_newer_versions([r for rs in batch.values() for r in rs])
                    if records:
                        decoded = self._decode(records)
                        if committing is not None:
                            task, committing = committing, None
                            await task  # if it fails, the records just fetched are thrown away
                            self._succeeded()
                        committing = asyncio.create_task(self._commit(records, *decoded))
                except _Rebuilt:
                    committing = await self._abandon(committing)
                    log.info("projection.rebuilt_elsewhere", projection=self.name)
                    self._needs_resync = True
                except Exception as error:
                    if not is_transient(error):
                        raise
                    committing = await self._abandon(committing)
                    await self._back_off(error, stop)
                    self._needs_resync = True
            if committing is not None:
                await committing
        finally:
            if committing is not None and not committing.done():
                committing.cancel()  # we are failing or being cancelled: its transaction rolls back
                await asyncio.gather(committing, return_exceptions=True)
            await stop_consumer(self.consumer)  # cleanly, even with the broker down
            self.consumer = None

    async def _abandon(self, committing: asyncio.Task[None] | None) -> None:
        if committing is not None:
            if not committing.done():
                committing.cancel()
            await asyncio.gather(committing, return_exceptions=True)
        return None

    def _succeeded(self) -> None:
        self._failures = 0
        self.last_error = None

    async def _back_off(self, error: BaseException, stop: asyncio.Event) -> None:
        self._failures += 1
        self.stats.retries += 1
        self.last_error = f"{type(error).__name__}: {error}"[:300]
        delay = min(0.2 * 2 ** (self._failures - 1), self.max_backoff_seconds)
        log.warning("projection.transient_failure", projection=self.name, error=self.last_error, retry_in=delay)
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except TimeoutError:
            pass

    def request_rebuild(self) -> None:
        """Empty the read model and read every topic again from its beginning (while running),
        on every replica of the projection."""
        self._rebuild_requested = True

    async def reset(self) -> None:
        """Empty the read model and forget every replica's position: the group starts again
        from the beginning. Bumps the generation, which every running replica obeys."""
        targets = await self._end_offsets()  # before the reset: what is there is history
        async with self.pool.acquire() as conn, conn.transaction():
            # The row lock waits for batches in flight (they hold it FOR SHARE) and makes
            # batches that start later see the new generation and throw themselves away.
            generation = await conn.fetchval(
                f"INSERT INTO {self.schema}.projection_generations AS g (consumer, generation, rebuilt_at) "
                "VALUES ($1, 1, now()) ON CONFLICT (consumer) DO UPDATE "
                "SET generation = g.generation + 1, rebuilt_at = now() RETURNING generation",
                self.name,
            )
            await self.projection.reset(conn)
            for table in ("consumer_positions", "applied_stream_versions", "parked_events", "rebuild_targets"):
                await conn.execute(f"DELETE FROM {self.schema}.{table} WHERE consumer = $1", self.name)
            if targets:
                await conn.executemany(
                    f"INSERT INTO {self.schema}.rebuild_targets (consumer, topic, partition, end_offset) "
                    "VALUES ($1, $2, $3, $4)",
                    [(self.name, tp.topic, tp.partition, end) for tp, end in targets.items()],
                )
            else:
                await self.projection.replayed(conn)  # nothing to read: the rebuild is over now

    async def _end_offsets(self) -> dict[TopicPartition, int]:
        """Each partition of the topics that has records, and its end offset now."""
        own = self.consumer is None  # a reset called while not running asks with a consumer of its own
        consumer = self.consumer or group_consumer(
            self.bootstrap_servers, group_id=f"{self.group_id}.ends", auto_offset_reset="none"
        )
        if own:
            await consumer.start()
        try:
            await consumer.topics()  # fresh metadata: every partition of every topic
            partitions = [
                TopicPartition(topic, p)
                for topic in self.projection.topics
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            if not partitions:
                return {}
            ends = await consumer.end_offsets(partitions)
            beginnings = await consumer.beginning_offsets(partitions)
            return {tp: ends[tp] for tp in partitions if ends[tp] > beginnings[tp]}
        finally:
            if own:
                await stop_consumer(consumer)

    async def _replayed_when_at_targets(self, conn: asyncpg.Connection) -> None:
        """While a rebuild replays: once the stored positions reach the end offsets it began
        with, the projection hears it (once, on whichever replica gets there)."""
        table = f"{self.schema}.rebuild_targets"
        if not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE consumer = $1)", self.name):
            return
        # Replicas check in turn, each after taking the lock, so the last to store its
        # positions sees everyone's (a check made beside another's uncommitted batch would not).
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{self.group_id}.rebuild_targets")
        done = await conn.fetch(
            f"DELETE FROM {table} AS t WHERE t.consumer = $1 AND NOT EXISTS ("
            f"  SELECT 1 FROM {table} AS b LEFT JOIN {self.schema}.consumer_positions AS p "
            "   ON (p.consumer, p.topic, p.partition) = (b.consumer, b.topic, b.partition) "
            "   WHERE b.consumer = $1 AND coalesce(p.next_offset, 0) < b.end_offset) RETURNING 1",
            self.name,
        )
        if done:
            log.info("projection.replayed", projection=self.name)
            await self.projection.replayed(conn)

    async def _rebuild_now(self) -> None:
        assert self.consumer is not None
        await self.reset()
        self._rebuild_requested = False
        self.paused.clear()
        await self._resync()
        log.info("projection.rebuilding", projection=self.name)

    async def stored_positions(self) -> dict[TopicPartition, int]:
        rows = await self.pool.fetch(
            f"SELECT topic, partition, next_offset FROM {self.schema}.consumer_positions WHERE consumer = $1",
            self.name,
        )
        return {TopicPartition(row["topic"], row["partition"]): row["next_offset"] for row in rows}

    async def _read_generation(self) -> int:
        return await self.pool.fetchval(
            f"SELECT generation FROM {self.schema}.projection_generations WHERE consumer = $1", self.name
        ) or 0

    async def _seek_to_stored(self, partitions: set[TopicPartition] | frozenset[TopicPartition]) -> None:
        """Seek ``partitions`` to their stored positions (the beginning where none is stored),
        and adopt the generation those positions belong to."""
        consumer = self.consumer
        assert consumer is not None
        generation = await self._read_generation()
        stored = await self.stored_positions()
        if generation != await self._read_generation():
            raise _Rebuilt()
        unknown = [tp for tp in partitions if tp not in stored]
        for tp in partitions:
            if tp in stored:
                consumer.seek(tp, stored[tp])
        if unknown:
            await consumer.seek_to_beginning(*unknown)
        if self._generation is not None and generation != self._generation:
            self.paused.clear()
        self._generation = generation

    async def _resync(self) -> None:
        """Throw away what the consumer holds and seek every assigned partition back to its
        stored position, in the current generation."""
        assert self.consumer is not None
        assignment = self.consumer.assignment()
        if assignment:
            self._generation = None
            await self._seek_to_stored(assignment)
            for tp in self.paused:
                self.consumer.pause(tp)
        self._needs_resync = False
        self.stats.resyncs += 1

    async def _watch_generation(self, committing: asyncio.Task[None] | None) -> None:
        """An idle replica must notice a rebuild too, not only one that is applying."""
        now = time.monotonic()
        if now - self._generation_checked < self.generation_poll_seconds:
            return
        self._generation_checked = now
        if self._generation is not None and await self._read_generation() != self._generation:
            raise _Rebuilt()

    def _hold_back_newer_versions(self, records: list[ConsumerRecord]) -> list[ConsumerRecord]:
        """Records from a producer newer than this reader must wait for this reader's upgrade,
        and so must everything after them on their partition (a stream's order)."""
        self._parsed.clear()
        if self.catalogue is None or not records:
            return records
        blocked: dict[TopicPartition, int] = {}
        kept: list[ConsumerRecord] = []
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if tp in blocked or tp in self.paused:
                continue
            reason = self._newer_version(record)
            if reason is None:
                kept.append(record)
                continue
            blocked[tp] = record.offset
            self.paused[tp] = PausedPartition(record.offset, reason, time.monotonic())
            assert self.consumer is not None
            self.consumer.pause(tp)
            self.consumer.seek(tp, record.offset)
            log.warning(
                "projection.paused", projection=self.name, topic=tp.topic, partition=tp.partition,
                offset=record.offset, reason=reason,
            )
        return kept

    def _newer_version(self, record: ConsumerRecord) -> str | None:
        try:
            event = Envelope.from_bytes(record.value)
            assert self.catalogue is not None
            if self.catalogue.knows(event.event_type):
                event = self.catalogue.upcast(event)
            # Kept for ``_decode``: each record's JSON is parsed once (it was a sizeable share
            # of a fast projection's time to parse every payload twice).
            self._parsed[(record.topic, record.partition, record.offset)] = event
        except UnsupportedSchemaVersion as error:
            if error.newer:
                return f"{error} at offset {record.offset}; waiting for this reader to be upgraded"
        except Exception:  # anything else is for _decode to judge
            return None
        return None

    def _retry_paused(self) -> None:
        """Now and then, try a paused partition again (a hot-reloaded catalogue may read it)."""
        if not self.paused or self.consumer is None:
            return
        now = time.monotonic()
        for tp, paused in list(self.paused.items()):
            if now - paused.since >= self.paused_retry_seconds:
                del self.paused[tp]
                self.consumer.resume(tp)

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        """Apply one batch of records: read-model change, stream marks and positions in one
        transaction; dead letters are acknowledged by Kafka before that transaction begins."""
        await self._commit(records, *self._decode(records))

    async def _commit(
        self, records: Sequence[ConsumerRecord], incoming: list[_Incoming], unreadable: list[_DeadLetter]
    ) -> None:
        # Each event continues the trace its record's traceparent header names (platform_kit.tracing).
        with tracing.consumed(self.name, [(i.event.event_id, i.event.event_type, i.record.headers) for i in incoming]):
            await self._commit_batch(records, incoming, unreadable)

    async def _commit_batch(
        self, records: Sequence[ConsumerRecord], incoming: list[_Incoming], unreadable: list[_DeadLetter]
    ) -> None:
        """One batch, in one transaction that never waits for Kafka: dead letters are sent
        while no transaction is open (a projection that appends events holds the event
        store's append lock until its transaction ends). Poison found while applying rolls the
        transaction back; the poison is dead-lettered, and the batch is applied again without
        it. A dead letter may therefore be sent twice, never lost."""
        await self._dead_letter(unreadable)
        poison: dict[uuid.UUID, _DeadLetter] = {}
        while True:
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    await self._check_generation(conn)
                    fresh = await self._first_sightings(conn, incoming)
                    refused = await self._apply(conn, [i for i in fresh if i.event.event_id not in poison])
                    if refused:
                        raise _Refused(refused)  # roll back: nothing is held while they are sent
                    await self._park(conn, unreadable + list(poison.values()))
                    await self._store_positions(conn, records)
                    await self._replayed_when_at_targets(conn)
                break
            except _Refused as found:
                for letter in found.letters:
                    assert letter.event_id is not None
                    poison[letter.event_id] = letter
                await self._dead_letter(found.letters)
        skipped = sum(1 for item in fresh if item.event.event_id in poison)
        self.stats.batches += 1
        self.stats.duplicates += len(incoming) - len(fresh)
        self.stats.applied += len(fresh) - skipped
        self.stats.dead_lettered += len(unreadable) + len(poison)

    async def _check_generation(self, conn: asyncpg.Connection) -> None:
        # FOR SHARE: a rebuild (which updates the row) waits for this batch, or this batch
        # sees the rebuild's generation and throws itself away.
        generation = await conn.fetchval(
            f"SELECT generation FROM {self.schema}.projection_generations WHERE consumer = $1 FOR SHARE", self.name
        )
        if self._generation is not None and (generation or 0) != self._generation:
            raise _Rebuilt()

    def _decode(self, records: Sequence[ConsumerRecord]) -> tuple[list[_Incoming], list[_DeadLetter]]:
        incoming: list[_Incoming] = []
        dead: list[_DeadLetter] = []
        for record in records:
            event: Envelope | None = self._parsed.pop((record.topic, record.partition, record.offset), None)
            if event is not None:
                incoming.append(_Incoming(record, event))
                continue
            try:
                event = Envelope.from_bytes(record.value)
                if self.catalogue is not None and self.catalogue.knows(event.event_type):
                    event = self.catalogue.upcast(event)
            except ValidationError as error:
                dead.append(_DeadLetter(record, f"not a valid envelope: {_summarise(error)}", "decode"))
            except (ValueError, UnknownEventType) as error:
                dead.append(_DeadLetter(record, str(error), "decode", event.event_id if event else None))
            else:
                incoming.append(_Incoming(record, event))
        return incoming, dead

    async def _first_sightings(self, conn: asyncpg.Connection, incoming: list[_Incoming]) -> list[_Incoming]:
        """The events not applied before: above their stream's mark, or parked and replayed.
        Moves the marks (in this transaction)."""
        if not incoming:
            return []
        streams = sorted({item.event.stream_id for item in incoming})
        table = f"{self.schema}.applied_stream_versions"
        # Make every mark exist, then lock them all: a racing replica waits here for this
        # transaction and then sees the marks it left.
        await conn.execute(
            f"INSERT INTO {table} (consumer, stream_id, version) SELECT $1, unnest($2::text[]), 0 "
            "ON CONFLICT DO NOTHING",
            self.name,
            streams,
        )
        marks = {
            row["stream_id"]: row["version"]
            for row in await conn.fetch(
                f"SELECT stream_id, version FROM {table} WHERE consumer = $1 AND stream_id = ANY($2::text[]) "
                "ORDER BY stream_id FOR UPDATE",
                self.name,
                streams,
            )
        }
        below = [item.event.event_id for item in incoming if item.event.stream_version <= marks[item.event.stream_id]]
        parked: set[uuid.UUID] = set()
        if below:
            parked = {
                row["event_id"]
                for row in await conn.fetch(
                    f"DELETE FROM {self.schema}.parked_events WHERE consumer = $1 AND event_id = ANY($2::uuid[]) "
                    "RETURNING event_id",
                    self.name,
                    below,
                )
            }
        fresh: list[_Incoming] = []
        moved: dict[str, int] = {}
        for item in incoming:
            event = item.event
            if event.stream_version > marks[event.stream_id]:
                marks[event.stream_id] = moved[event.stream_id] = event.stream_version
                fresh.append(item)
            elif event.event_id in parked:
                parked.discard(event.event_id)  # a replayed dead letter counts once
                fresh.append(item)
        if moved:
            await conn.execute(
                f"UPDATE {table} AS m SET version = v.version FROM unnest($2::text[], $3::int[]) AS v (stream_id, version) "
                "WHERE m.consumer = $1 AND m.stream_id = v.stream_id",
                self.name,
                list(moved),
                list(moved.values()),
            )
        return fresh

    async def _apply(self, conn: asyncpg.Connection, fresh: list[_Incoming]) -> list[_DeadLetter]:
        if not fresh:
            return []
        try:
            async with conn.transaction():
                await self.projection.apply(conn, [item.event for item in fresh])
            return []
        except Exception as error:
            if not is_poison(error):
                raise  # transient: retried from the stored position; a bug: stops the runner
        dead: list[_DeadLetter] = []
        for item in fresh:  # some event in the batch is poison: find it by applying them one by one
            try:
                async with conn.transaction():
                    await self.projection.apply(conn, [item.event])
            except Exception as error:
                if not is_poison(error):
                    raise
                dead.append(_DeadLetter(item.record, f"{type(error).__name__}: {error}", "apply", item.event.event_id))
        return dead

    async def _park(self, conn: asyncpg.Connection, dead: list[_DeadLetter]) -> None:
        # A dead-lettered event did not take effect; replaying it once fixed must apply it,
        # although its stream's mark has moved past it.
        ids = [letter.event_id for letter in dead if letter.event_id is not None]
        if ids:
            await conn.execute(
                f"INSERT INTO {self.schema}.parked_events (consumer, event_id) SELECT $1, unnest($2::uuid[]) "
                "ON CONFLICT DO NOTHING",
                self.name,
                ids,
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
            if letter.event_id is not None:
                headers.append(("event_id", str(letter.event_id).encode()))
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

    # ---- readiness -------------------------------------------------------------------

    async def lag(self) -> dict[str, int]:
        """Per assigned partition ("topic/partition"): the end offset minus the stored position."""
        consumer = self.consumer
        if consumer is None:
            return {}
        assigned = list(consumer.assignment())
        if not assigned:
            return {}
        ends = await consumer.end_offsets(assigned)
        stored = await self.stored_positions()
        beginnings = await consumer.beginning_offsets([tp for tp in assigned if tp not in stored]) if any(
            tp not in stored for tp in assigned
        ) else {}
        return {
            f"{tp.topic}/{tp.partition}": max(0, ends[tp] - stored.get(tp, beginnings.get(tp, 0)))
            for tp in sorted(assigned)
        }

    def paused_reasons(self) -> dict[str, str]:
        return {f"{tp.topic}/{tp.partition}": p.reason for tp, p in self.paused.items()}


def _summarise(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in error.errors()[:5])
