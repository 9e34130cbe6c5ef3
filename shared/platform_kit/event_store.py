"""The event store: each service's own history, in PostgreSQL, in commit order.

Three promises:

1. **No lost update.** Events of one stream carry consecutive ``stream_version`` numbers. An
   append whose first version is not the stream's current version + 1 is refused with
   :class:`ConcurrencyConflict`; the primary key ``(stream_id, stream_version)`` would refuse
   it anyway.
2. **Commit order without gaps.** Every event gets a ``position`` in the whole store. A reader
   that tails the store ("everything after position p") must never skip an event that a slower
   transaction commits later. With a plain sequence that happens: transaction A takes
   position 10, B takes 11, B commits, a reader reads 11 and moves on, then A commits 10
   behind its back. We therefore serialise appends with a transaction-scoped advisory lock
   (``pg_advisory_xact_lock`` on a key derived from the schema): it blocks other appenders,
   never readers and never (auto)vacuum, unlike a table lock, and is held to commit, so
   positions are handed out in commit order and are dense (max + 1, no sequence, no holes
   even after a rollback). The price is one appender at a time per store; the lock is taken
   as late as possible (after every check that needs no position) and nothing after it waits
   for the network, so a transaction holds it for milliseconds. **Rule:** an appender that
   passes ``conn`` must not wait for Kafka or HTTP after ``append`` returns and before it
   commits (the lock is held to the end of its transaction). We rejected
   transaction-id snapshots (``pg_snapshot_xmin``) because any long transaction anywhere in
   the cluster then stalls every reader, and a high-water mark with a timeout because it can
   still skip a transaction slower than the timeout. See docs/event-store.md.
3. **Nothing committed is left unpublished.** The outbox row of every event is written in the
   same transaction (see :mod:`platform_kit.outbox_relay`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

import asyncpg
from pydantic_core import to_json

from platform_kit.database import apply_ddl, checked_schema
from platform_kit.envelope import Envelope

COLUMNS = (
    "position",
    "event_id",
    "stream_id",
    "stream_version",
    "event_type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "unit_code",
    "source",
    "correlation_id",
    "causation_id",
    "payload",
)
ENVELOPE_FIELDS = COLUMNS[1:]
_ROW_FIELDS = attrgetter(*ENVELOPE_FIELDS[:-1])  # every column but position and payload

DDL = """
CREATE TABLE IF NOT EXISTS {schema}.events (
    position        bigint      PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL CHECK (stream_version >= 1),
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL CHECK (schema_version >= 1),
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    unit_code       text        NOT NULL,
    source          text        NOT NULL,
    correlation_id  uuid,
    causation_id    uuid,
    payload         jsonb       NOT NULL,
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);
CREATE TABLE IF NOT EXISTS {schema}.outbox (
    position bigint PRIMARY KEY REFERENCES {schema}.events (position)
);
-- When the row was written: readiness reports the age of the oldest unpublished event.
ALTER TABLE {schema}.outbox ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now();
-- What the relay could not publish (Kafka refused it as too large), with the reason.
CREATE TABLE IF NOT EXISTS {schema}.outbox_parked (
    position  bigint      PRIMARY KEY REFERENCES {schema}.events (position),
    reason    text        NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now()
);
"""


class ConcurrencyConflict(Exception):
    """Another writer appended to the stream first: reload it, decide again, retry."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream_version: stream {stream_id} is at version {actual}, "
            f"the append expected {expected}; reload the stream and retry"
        )
        self.stream_id, self.expected, self.actual = stream_id, expected, actual


class DuplicateEvent(Exception):
    """These event ids are stored already: the same fact was sent twice."""

    def __init__(self, event_ids: Iterable[uuid.UUID]) -> None:
        self.event_ids = sorted(set(event_ids))
        super().__init__(f"event_id: already stored: {', '.join(map(str, self.event_ids))}")


class MalformedAppend(ValueError):
    """A batch that cannot be stored as it is: versions that do not follow each other within
    a stream, or an event too large to be published."""


class EventTooLarge(MalformedAppend):
    """An event whose published message would exceed the limit (Kafka refuses such records)."""

    def __init__(self, event: Envelope, size: int, limit: int) -> None:
        super().__init__(
            f"payload: event {event.event_id} ({event.event_type}, stream {event.stream_id} "
            f"v{event.stream_version}) is {size} bytes as JSON, more than the limit of {limit} bytes"
        )
        self.event_id, self.size, self.limit = event.event_id, size, limit


# Below Kafka's default message.max.bytes (1 MiB = 1,048,588 bytes with the batch overhead),
# with room for the key, the headers and the record batch framing.
DEFAULT_MAX_EVENT_BYTES = 900 * 1024


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    position: int
    event: Envelope


def _row_to_envelope(row: asyncpg.Record) -> Envelope:
    # The row was validated when it was appended; no need to pay for validation again.
    return Envelope.model_construct(**{name: row[name] for name in ENVELOPE_FIELDS})


def _payload_json(event: Envelope) -> str:
    # The payload as JSON text, serialised as the envelope itself is on the wire (pydantic's
    # serialiser, in Rust: several times faster than json.dumps); jsonb stores it parsed.
    return to_json(event.payload).decode()


def _refuse_repeats(events: Sequence[Envelope]) -> None:
    # Linear: one pass with a set (``list.count`` per id was quadratic).
    seen: set[uuid.UUID] = set()
    repeated: set[uuid.UUID] = set()
    for event in events:
        (repeated if event.event_id in seen else seen).add(event.event_id)
    if repeated:
        raise DuplicateEvent(repeated)


def _lock_key(schema: str) -> int:
    """A stable signed 64-bit advisory-lock key for the store of ``schema``."""
    digest = hashlib.blake2b(f"platform-kit-append:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _expected_versions(events: Sequence[Envelope]) -> dict[str, int]:
    """Stream -> the version the stream must be at before this batch (first version - 1)."""
    expected: dict[str, int] = {}
    last: dict[str, int] = {}
    for event in events:
        previous = last.get(event.stream_id)
        if previous is None:
            expected[event.stream_id] = event.stream_version - 1
        elif event.stream_version != previous + 1:
            raise MalformedAppend(
                f"stream_version: {event.stream_id} jumps from {previous} to {event.stream_version} in one append"
            )
        last[event.stream_id] = event.stream_version
    return expected


class EventStore:
    def __init__(
        self, pool: asyncpg.Pool, schema: str, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    ) -> None:
        self.pool = pool
        self.schema = checked_schema(schema)
        self.table = f"{self.schema}.events"
        self.notify_channel = f"{self.schema}_events"
        self.max_event_bytes = max_event_bytes
        self.lock_key = _lock_key(self.schema)

    async def setup(self) -> None:
        await apply_ddl(self.pool, self.schema, DDL)

    async def append(
        self, events: Sequence[Envelope], *, conn: asyncpg.Connection | None = None
    ) -> list[RecordedEvent]:
        """Append ``events`` atomically, with their outbox rows, or raise and append nothing.

        Pass ``conn`` (inside a transaction) to make the append part of a larger unit of work,
        e.g. a projection that emits events in the same transaction as its read-model change.
        """
        if not events:
            return []
        _refuse_repeats(events)
        expected = _expected_versions(events)
        payloads = self._sized_payloads(events)
        if conn is not None:
            async with conn.transaction():
                return await self._append(conn, events, expected, payloads)
        async with self.pool.acquire() as own, own.transaction():
            return await self._append(own, events, expected, payloads)

    def _sized_payloads(self, events: Sequence[Envelope]) -> list[str]:
        """The payloads as JSON, each event checked against ``max_event_bytes``: an event Kafka
        would refuse must be refused here, before it is committed and blocks the relay."""
        payloads = []
        for event in events:
            payload = _payload_json(event)
            # The published message is the envelope (a few hundred bytes) around the payload.
            size = len(payload.encode()) + 600
            if size > self.max_event_bytes:
                size = len(event.to_bytes())
                if size > self.max_event_bytes:
                    raise EventTooLarge(event, size, self.max_event_bytes)
            payloads.append(payload)
        return payloads

    async def _append(
        self,
        conn: asyncpg.Connection,
        events: Sequence[Envelope],
        expected: dict[str, int],
        payloads: list[str],
    ) -> list[RecordedEvent]:
        # Lock first: in REPEATABLE READ the snapshot is taken by the first query, and it
        # must be taken after the previous appender has committed. Everything that needs no
        # position (sizes, repeats within the batch, payload JSON) was done before the lock.
        await conn.execute("SELECT pg_advisory_xact_lock($1::bigint)", self.lock_key)
        await self._check_versions(conn, expected)
        head = await conn.fetchval(f"SELECT coalesce(max(position), 0) FROM {self.table}")
        records = [
            (head + offset, *_ROW_FIELDS(event), payload)
            for offset, (event, payload) in enumerate(zip(events, payloads, strict=True), start=1)
        ]
        try:
            # A savepoint, so that an event id stored already fails the copy, not the
            # transaction: the unique key finds duplicates as the rows go in, and only then
            # do we look up which ids they are. Versions and positions cannot collide here:
            # the lock is held and the versions were checked.
            async with conn.transaction():
                await conn.copy_records_to_table("events", schema_name=self.schema, columns=COLUMNS, records=records)
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name == "events_event_id_key":
                await self._check_duplicates(conn, events)
            raise
        await conn.execute(
            f"INSERT INTO {self.schema}.outbox (position) SELECT generate_series($1::bigint, $2::bigint)",
            head + 1,
            head + len(events),
        )
        await conn.execute("SELECT pg_notify($1, $2)", self.notify_channel, str(head + len(events)))
        return [RecordedEvent(head + i, event) for i, event in enumerate(events, start=1)]

    async def _check_versions(self, conn: asyncpg.Connection, expected: dict[str, int]) -> None:
        # Only the streams that are not where the append expects them come back; the first
        # of them, in the order of the batch, is named.
        conflict = await conn.fetchrow(
            "SELECT e.stream_id, e.expected, coalesce(h.version, 0) AS actual "
            "FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS e (stream_id, expected, i) "
            f"LEFT JOIN LATERAL (SELECT max(stream_version) AS version FROM {self.table} "
            "WHERE stream_id = e.stream_id) AS h ON true "
            "WHERE coalesce(h.version, 0) <> e.expected ORDER BY e.i LIMIT 1",
            list(expected),
            list(expected.values()),
        )
        if conflict is not None:
            raise ConcurrencyConflict(conflict["stream_id"], conflict["expected"], conflict["actual"])

    async def _check_duplicates(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
        ids = [event.event_id for event in events]
        stored = await conn.fetch(f"SELECT event_id FROM {self.table} WHERE event_id = ANY($1::uuid[])", ids)
        if stored:
            raise DuplicateEvent(row["event_id"] for row in stored)

    async def read_stream(self, stream_id: str, *, after_version: int = 0) -> list[Envelope]:
        rows = await self.pool.fetch(
            f"SELECT * FROM {self.table} WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version",
            stream_id,
            after_version,
        )
        return [_row_to_envelope(row) for row in rows]

    async def stream_version(self, stream_id: str) -> int:
        version = await self.pool.fetchval(
            f"SELECT max(stream_version) FROM {self.table} WHERE stream_id = $1", stream_id
        )
        return version or 0

    async def read_all(self, *, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """The store's events after ``after_position``, in commit order."""
        rows = await self.pool.fetch(
            f"SELECT * FROM {self.table} WHERE position > $1 ORDER BY position LIMIT $2", after_position, limit
        )
        return [RecordedEvent(row["position"], _row_to_envelope(row)) for row in rows]

    async def head_position(self) -> int:
        return await self.pool.fetchval(f"SELECT coalesce(max(position), 0) FROM {self.table}")
