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

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

import asyncpg
from pydantic_core import to_json

from platform_kit import tracing
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
-- The W3C trace context the event was appended in (platform_kit.tracing): the relay sends it as
-- the record's traceparent header. Delivery data, not the fact: it leaves with the outbox row.
ALTER TABLE {schema}.outbox ADD COLUMN IF NOT EXISTS traceparent text;
-- What the relay could not publish (Kafka refused it as too large), with the reason.
CREATE TABLE IF NOT EXISTS {schema}.outbox_parked (
    position  bigint      PRIMARY KEY REFERENCES {schema}.events (position),
    reason    text        NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now()
);
-- One call appends one or more independent requests (a group commit), each checked on its
-- own: its streams' versions, then its event ids, then its rows and outbox rows at the next
-- dense positions. A refused request leaves no row and does not stop the ones after it; one
-- row per request comes back, in order. It runs in one round trip under the append lock,
-- and as a VOLATILE PL/pgSQL function each query in it sees what committed before the lock
-- was granted (a fresh snapshot per statement in READ COMMITTED).
CREATE OR REPLACE FUNCTION {schema}.append_events(
    lock_key bigint, channel text, request_sizes int[], expected_sizes int[],
    expected_streams text[], expected_versions int[],
    a_event_id uuid[], a_stream_id text[], a_stream_version int[], a_event_type text[],
    a_schema_version int[], a_occurred_at timestamptz[], a_recorded_at timestamptz[], a_unit_code text[],
    a_source text[], a_correlation_id uuid[], a_causation_id uuid[], a_payload text[], a_traceparent text[]
) RETURNS TABLE (o_outcome text, o_last bigint, o_stream text, o_expected int, o_actual int, o_stored uuid[])
LANGUAGE plpgsql VOLATILE AS $append$
DECLARE
    head bigint;
    lo int := 1;
    hi int;
    e_lo int := 1;
    e_hi int;
    appended boolean := false;
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    SELECT coalesce(max(e.position), 0) INTO head FROM {schema}.events e;
    FOR r IN 1 .. coalesce(array_length(request_sizes, 1), 0) LOOP
        hi := lo + request_sizes[r] - 1;
        e_hi := e_lo + expected_sizes[r] - 1;
        o_outcome := NULL; o_last := NULL; o_stream := NULL; o_expected := NULL; o_actual := NULL; o_stored := NULL;
        -- The first stream (in the order of the request) that is not where it is expected.
        SELECT x.s, x.v, x.actual INTO o_stream, o_expected, o_actual FROM (
            SELECT u.s, u.v, u.i, coalesce(
                (SELECT max(e.stream_version) FROM {schema}.events e WHERE e.stream_id = u.s), 0) AS actual
            FROM unnest(expected_streams[e_lo:e_hi], expected_versions[e_lo:e_hi]) WITH ORDINALITY AS u (s, v, i)
        ) x WHERE x.actual <> x.v ORDER BY x.i LIMIT 1;
        IF FOUND THEN
            o_outcome := 'conflict';
        ELSE
            -- Exact under the lock: nobody else inserts until this transaction ends.
            SELECT array_agg(e.event_id) INTO o_stored FROM {schema}.events e
            WHERE e.event_id = ANY (a_event_id[lo:hi]);
            IF o_stored IS NOT NULL THEN
                o_outcome := 'duplicate';
            ELSE
                INSERT INTO {schema}.events (
                    position, event_id, stream_id, stream_version, event_type, schema_version, occurred_at,
                    recorded_at, unit_code, source, correlation_id, causation_id, payload)
                SELECT head + u.i, u.event_id, u.stream_id, u.stream_version, u.event_type, u.schema_version,
                       u.occurred_at, u.recorded_at, u.unit_code, u.source, u.correlation_id, u.causation_id,
                       u.payload::jsonb
                FROM unnest(a_event_id[lo:hi], a_stream_id[lo:hi], a_stream_version[lo:hi], a_event_type[lo:hi],
                            a_schema_version[lo:hi], a_occurred_at[lo:hi], a_recorded_at[lo:hi], a_unit_code[lo:hi],
                            a_source[lo:hi], a_correlation_id[lo:hi], a_causation_id[lo:hi], a_payload[lo:hi])
                     WITH ORDINALITY AS u (event_id, stream_id, stream_version, event_type, schema_version,
                                           occurred_at, recorded_at, unit_code, source, correlation_id,
                                           causation_id, payload, i);
                INSERT INTO {schema}.outbox (position, traceparent)
                SELECT head + u.i, u.traceparent FROM unnest(a_traceparent[lo:hi]) WITH ORDINALITY AS u (traceparent, i);
                head := head + request_sizes[r];
                o_outcome := 'appended';
                o_last := head;
                appended := true;
            END IF;
        END IF;
        RETURN NEXT;
        lo := hi + 1;
        e_lo := e_hi + 1;
    END LOOP;
    IF appended THEN
        PERFORM pg_notify(channel, head::text);
    END IF;
END
$append$;
-- The same for the commonest call, one request of one event (a command's single fact): the
-- same checks in the same order, with plain parameters. PL/pgSQL's arrays, slices and unnest
-- cost a lone append about a quarter of its time (bench/peers.py, docs/capacity.md).
CREATE OR REPLACE FUNCTION {schema}.append_event(
    lock_key bigint, channel text, expected_version int,
    a_event_id uuid, a_stream_id text, a_stream_version int, a_event_type text, a_schema_version int,
    a_occurred_at timestamptz, a_recorded_at timestamptz, a_unit_code text, a_source text,
    a_correlation_id uuid, a_causation_id uuid, a_payload text, a_traceparent text
) RETURNS TABLE (o_outcome text, o_last bigint, o_stream text, o_expected int, o_actual int, o_stored uuid[])
LANGUAGE plpgsql VOLATILE AS $append$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    o_stream := a_stream_id; o_expected := expected_version;
    SELECT coalesce(max(e.stream_version), 0) INTO o_actual FROM {schema}.events e WHERE e.stream_id = a_stream_id;
    IF o_actual <> expected_version THEN
        o_outcome := 'conflict';
    ELSIF EXISTS (SELECT 1 FROM {schema}.events e WHERE e.event_id = a_event_id) THEN
        o_outcome := 'duplicate'; o_stored := ARRAY[a_event_id];
    ELSE
        SELECT coalesce(max(e.position), 0) + 1 INTO o_last FROM {schema}.events e;
        INSERT INTO {schema}.events (
            position, event_id, stream_id, stream_version, event_type, schema_version, occurred_at,
            recorded_at, unit_code, source, correlation_id, causation_id, payload)
        VALUES (o_last, a_event_id, a_stream_id, a_stream_version, a_event_type, a_schema_version, a_occurred_at,
                a_recorded_at, a_unit_code, a_source, a_correlation_id, a_causation_id, a_payload::jsonb);
        INSERT INTO {schema}.outbox (position, traceparent) VALUES (o_last, a_traceparent);
        PERFORM pg_notify(channel, o_last::text);
        o_outcome := 'appended';
    END IF;
    RETURN NEXT;
END
$append$;
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


# A group commit takes whatever is waiting up to this many events (a bigger single append
# goes alone): the statement's arrays stay a few megabytes at most.
MAX_GROUP_EVENTS = 5000


@dataclass(slots=True)
class _Request:
    events: Sequence[Envelope]
    expected: dict[str, int]  # stream -> the version it must be at
    payloads: list[str]
    traceparents: list[str | None]
    answer: asyncio.Future | None = None


def _settled(request: _Request, outcome: asyncpg.Record) -> list[RecordedEvent]:
    """The recorded events of an appended request, or its refusal raised."""
    if outcome["o_outcome"] == "conflict":
        raise ConcurrencyConflict(outcome["o_stream"], outcome["o_expected"], outcome["o_actual"])
    if outcome["o_outcome"] == "duplicate":
        raise DuplicateEvent(outcome["o_stored"])
    first = outcome["o_last"] - len(request.events) + 1
    return [RecordedEvent(first + i, event) for i, event in enumerate(request.events)]


def _answer(request: _Request, *, result: list[RecordedEvent] | None = None, error: BaseException | None = None) -> None:
    if request.answer is None or request.answer.done():  # its caller was cancelled meanwhile
        return
    if isinstance(error, asyncio.CancelledError):
        request.answer.cancel()
    elif error is not None:
        request.answer.set_exception(error)
    else:
        request.answer.set_result(result)


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
        self._append_call = (
            f"SELECT * FROM {self.schema}.append_events($1::bigint, $2::text, $3::int[], $4::int[], $5::text[], "
            "$6::int[], $7::uuid[], $8::text[], $9::int[], $10::text[], $11::int[], $12::timestamptz[], "
            "$13::timestamptz[], $14::text[], $15::text[], $16::uuid[], $17::uuid[], $18::text[], $19::text[])"
        )
        self._append_one_call = (
            f"SELECT * FROM {self.schema}.append_event($1::bigint, $2::text, $3::int, $4::uuid, $5::text, $6::int, "
            "$7::text, $8::int, $9::timestamptz, $10::timestamptz, $11::text, $12::text, $13::uuid, $14::uuid, "
            "$15::text, $16::text)"
        )
        self._read_raw = (
            f"SELECT {', '.join(COLUMNS[:-1])}, payload::text AS payload FROM {self.table} "
            "WHERE position > $1 ORDER BY position LIMIT $2"
        )
        self._read_range_query = (
            f"SELECT {', '.join(COLUMNS[:-1])}, payload::text AS payload FROM {self.table} "
            "WHERE position > $1 AND position <= $2 ORDER BY position"
        )
        self._waiting: list[_Request] = []  # appends without ``conn``, waiting for the next group
        self._drainer: asyncio.Task | None = None

    async def setup(self) -> None:
        await apply_ddl(self.pool, self.schema, DDL)

    async def append(
        self, events: Sequence[Envelope], *, conn: asyncpg.Connection | None = None
    ) -> list[RecordedEvent]:
        """Append ``events`` atomically, with their outbox rows, or raise and append nothing.

        Pass ``conn`` (inside a transaction) to make the append part of a larger unit of work,
        e.g. a projection that emits events in the same transaction as its read-model change.
        Without ``conn``, concurrent appends of this process are committed together (one
        transaction, one lock turn, one WAL flush for the group), each checked on its own and
        answered with its own result or its own refusal.
        """
        if not events:
            return []
        _refuse_repeats(events)
        request = _Request(
            events, _expected_versions(events), self._sized_payloads(events),
            tracing.traceparents_for([event.causation_id for event in events]),
        )
        if conn is not None:
            # One statement: if it fails, it changes nothing, and a refusal is an answer,
            # not an error, so the caller's transaction stays usable after a conflict.
            (outcome,) = await self._append_group(conn, [request])
            return _settled(request, outcome)
        return await self._grouped(request)

    async def _grouped(self, request: _Request) -> list[RecordedEvent]:
        request.answer = asyncio.get_running_loop().create_future()
        self._waiting.append(request)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name=f"append {self.schema}")
        return await request.answer

    async def _drain(self) -> None:
        """Commit whatever is waiting, group after group, until nothing is."""
        while self._waiting:
            group = self._take_group()
            try:
                await self._commit(group)
            except BaseException as error:  # cancelled with the loop: nobody is left hanging
                for request in group:
                    _answer(request, error=error)
                raise

    def _take_group(self) -> list[_Request]:
        group: list[_Request] = []
        size = 0
        while self._waiting and (not group or size + len(self._waiting[0].events) <= MAX_GROUP_EVENTS):
            request = self._waiting.pop(0)
            if not request.answer.done():  # a caller cancelled before its turn: nothing of it is written
                group.append(request)
                size += len(request.events)
        return group

    async def _commit(self, group: list[_Request]) -> None:
        if not group:
            return
        try:
            async with self.pool.acquire() as conn:
                outcomes = await self._append_group(conn, group)
        except asyncpg.PostgresError as error:
            # The server refused the statement, so nothing of the group was written: one bad
            # request must not sink the others, so each is tried alone.
            if len(group) == 1:
                _answer(group[0], error=error)
                return
            for request in group:
                await self._commit([request])
            return
        except Exception as error:  # the connection failed: the outcome is unknown to all
            for request in group:
                _answer(request, error=error)
            return
        for request, outcome in zip(group, outcomes, strict=True):
            try:
                _answer(request, result=_settled(request, outcome))
            except (ConcurrencyConflict, DuplicateEvent) as refusal:
                _answer(request, error=refusal)

    async def _append_group(self, conn: asyncpg.Connection, group: list[_Request]) -> list[asyncpg.Record]:
        if len(group) == 1 and len(group[0].events) == 1:  # one request of one event: the lean statement
            (request,) = group
            (event,) = request.events
            return await conn.fetch(
                self._append_one_call, self.lock_key, self.notify_channel, request.expected[event.stream_id],
                *_ROW_FIELDS(event), request.payloads[0], request.traceparents[0],
            )
        rows = [_ROW_FIELDS(event) for request in group for event in request.events]
        columns = list(zip(*rows, strict=True))
        return await conn.fetch(
            self._append_call,
            self.lock_key,
            self.notify_channel,
            [len(request.events) for request in group],
            [len(request.expected) for request in group],
            [stream for request in group for stream in request.expected],
            [version for request in group for version in request.expected.values()],
            *columns,
            [payload for request in group for payload in request.payloads],
            [traceparent for request in group for traceparent in request.traceparents],
        )

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

    async def read_all_raw(self, *, after_position: int = 0, limit: int = 10_000) -> list[asyncpg.Record]:
        """The rows after ``after_position``, in commit order, as stored: ``position`` and the
        envelope's columns, with the payload as JSON text (not parsed). For rebuilds and
        exports that need no envelope object per event: several times faster than
        :meth:`read_all`."""
        return await self.pool.fetch(self._read_raw, after_position, limit)

    async def replay_raw(
        self, *, after_position: int = 0, page: int = 10_000, ahead: int = 2
    ) -> AsyncIterator[list[asyncpg.Record]]:
        """Every row after ``after_position`` up to the head, in commit order, ``page`` rows at
        a time (memory stays a few pages, whatever the store's size).

        Positions are dense, so the next pages' ranges are known before the current one
        arrives: ``ahead`` range queries run at once (PostgreSQL renders one page's jsonb while
        this process decodes another). A short page is the head; pages read beyond it are
        dropped and the reading goes on from the last row seen, so nothing committed meanwhile
        is skipped or seen twice.
        """
        loop = asyncio.get_running_loop()
        start = after_position
        while True:
            pending = [loop.create_task(self._read_range(start + k * page, page)) for k in range(ahead)]
            try:
                while True:
                    rows = await pending.pop(0)
                    full = len(rows) == page
                    if full:  # the next range is asked for before this page is handed out
                        pending.append(loop.create_task(self._read_range(rows[-1]["position"] + len(pending) * page, page)))
                    if rows:
                        start = rows[-1]["position"]
                        yield rows
                    if not full:
                        break
            finally:
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            if not rows:
                return

    async def _read_range(self, after_position: int, page: int) -> list[asyncpg.Record]:
        return await self.pool.fetch(self._read_range_query, after_position, after_position + page)

    async def head_position(self) -> int:
        return await self.pool.fetchval(f"SELECT coalesce(max(position), 0) FROM {self.table}")
