"""The kit beside a peer: the Python ``eventsourcing`` library's PostgreSQL recorder
(``PostgresApplicationRecorder``, used directly, in its own schema of the same database).

* ``append_single_vs_eventsourcing_{1,16}_writers``: one-event appends, W concurrent writers
  (the kit: W asyncio tasks on one ``EventStore``; the recorder: W threads, a connection
  pool of W), each writer owning its streams and appending their versions in order. The same
  events: the recorder stores each as (stream id, version, event type, the envelope's JSON).
  Beside it two floors of the same run: the same event and outbox rows written without any of
  the store's promises (``append_single_vs_two_row_floor_*``), and bare one-row commits.
* ``read_all_vs_eventsourcing``: the whole store read in order, 10,000 rows per query
  (``EventStore.read_all_raw`` beside ``select_notifications``), both tables holding the same
  N events (made by PostgreSQL itself, so that a million fit the benchmark's memory).

(``replay_1m``/``replay_5m``, the assessment's rebuild of its views, are in bench/replay.py.)
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import asyncpg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from bench.context import Context, rate
from bench.report import Result
from platform_kit.envelope import Envelope
from platform_kit.event_store import _ROW_FIELDS, COLUMNS, EventStore, _payload_json

PAGE = 10_000
PEER = "eventsourcing PostgresApplicationRecorder"


def say(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


def _datastore(database_url: str, schema: str, pool_size: int) -> PostgresDatastore:
    url = urlparse(database_url)
    return PostgresDatastore(
        dbname=url.path.lstrip("/"), host=url.hostname or "127.0.0.1", port=url.port or 5432,
        user=url.username or "postgres", password=url.password or "", pool_size=pool_size, schema=schema,
        originator_id_type="text",
    )


def _recorder(datastore: PostgresDatastore) -> PostgresApplicationRecorder:
    recorder = PostgresApplicationRecorder(datastore)
    recorder.create_table()
    return recorder


def _per_writer(events: list[Envelope], writers: int) -> list[list[Envelope]]:
    """Each writer owns the streams ``resident-s`` with ``s % writers == w``, in version order."""
    shares: list[list[Envelope]] = [[] for _ in range(writers)]
    for event in events:
        shares[int(event.stream_id.rsplit("-", 1)[1]) % writers].append(event)
    return shares


async def _kit_append_single(ctx: Context, events: list[Envelope], writers: int) -> float:
    schema = ctx.schema("single")
    store = EventStore(ctx.pool, schema)
    await store.setup()

    async def write(share: list[Envelope]) -> None:
        for event in share:
            await store.append([event])

    shares = _per_writer(events, writers)
    started = time.perf_counter()
    await asyncio.gather(*(write(share) for share in shares))
    elapsed = time.perf_counter() - started
    assert await store.head_position() == len(events)
    await ctx.drop_schema(schema)
    return rate(len(events), elapsed)


def _peer_append_single(ctx: Context, schema: str, events: list[Envelope], writers: int) -> float:
    datastore = _datastore(ctx.database_url, schema, writers)
    try:
        recorder = _recorder(datastore)
        shares = [
            [StoredEvent(e.stream_id, e.stream_version, e.event_type, e.to_bytes()) for e in share]
            for share in _per_writer(events, writers)
        ]

        def write(share: list[StoredEvent]) -> None:
            for stored in share:
                recorder.insert_events([stored])

        with ThreadPoolExecutor(writers) as threads:
            # Every connection of its pool open before the clock starts, as the kit's are.
            list(threads.map(lambda _: recorder.max_notification_id(), range(writers * 2)))
            started = time.perf_counter()
            list(threads.map(write, shares))
            elapsed = time.perf_counter() - started
        assert recorder.max_notification_id() == len(events)
    finally:
        datastore.close()
    return rate(len(events), elapsed)


async def _commit_floor(ctx: Context, n: int, writers: int) -> float:
    """The machine's floor for durable one-row commits: W connections, each inserting one
    small row per transaction (no lock, no index, no check): what a WAL flush per commit allows."""
    schema = ctx.schema("floor")
    await ctx.pool.execute(f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.t (x bigint)")
    per_writer = n // writers

    conns = [await asyncpg.connect(ctx.database_url) for _ in range(writers)]

    async def write(conn: asyncpg.Connection) -> None:
        for i in range(per_writer):
            await conn.execute(f"INSERT INTO {schema}.t VALUES ($1)", i)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(write(conn) for conn in conns))
        elapsed = time.perf_counter() - started
    finally:
        for conn in conns:
            await conn.close()
    await ctx.drop_schema(schema)
    return rate(per_writer * writers, elapsed)


async def _two_row_floor(ctx: Context, events: list[Envelope], writers: int) -> float:
    """The same events as the kit's rows, each with its outbox row, one statement and one commit
    per event, from W connections: what the store's two rows cost with none of its promises (no
    lock, no version or duplicate check, positions handed out in advance, no notify)."""
    schema = ctx.schema("rows")
    await EventStore(ctx.pool, schema).setup()
    insert = (
        f"WITH e AS (INSERT INTO {schema}.events ({', '.join(COLUMNS)}) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb) RETURNING position) "
        f"INSERT INTO {schema}.outbox (position) SELECT position FROM e"
    )
    rows = [(position, *_ROW_FIELDS(event), _payload_json(event))
            for position, event in enumerate(events, 1)]
    conns = [await asyncpg.connect(ctx.database_url) for _ in range(writers)]

    async def write(conn: asyncpg.Connection, share: list[tuple]) -> None:
        for row in share:
            await conn.execute(insert, *row)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(write(conn, rows[w::writers]) for w, conn in enumerate(conns)))
        elapsed = time.perf_counter() - started
    finally:
        for conn in conns:
            await conn.close()
    await ctx.drop_schema(schema)
    return rate(len(rows), elapsed)


async def append_single(ctx: Context, events: list[Envelope], writers: int, rounds: int) -> list[Result]:
    kits, peers = [], []
    for i in range(rounds):
        pair = ["kit", "peer"] if i % 2 == 0 else ["peer", "kit"]
        for who in pair:
            if who == "kit":
                kits.append(await _kit_append_single(ctx, events, writers))
            else:
                schema = ctx.schema("es_single")
                await ctx.pool.execute(f"CREATE SCHEMA {schema}")
                peers.append(await asyncio.to_thread(_peer_append_single, ctx, schema, events, writers))
                await ctx.drop_schema(schema)
    writers_name = f"{writers}_writer" + ("s" if writers > 1 else "")
    result = Result(
        f"append_single_vs_eventsourcing_{writers_name}", max(kits), "events/s", f"{PEER}, 1 event per call", max(peers)
    )
    floor = await _commit_floor(ctx, len(events), writers)
    two_rows = await _two_row_floor(ctx, events, writers)
    say(f"  {writers} writer(s): {result.value:,.0f} / {result.limit_value:,.0f} events/s = {result.ratio:.2f}; "
        f"the same two rows without checks {two_rows:,.0f}/s; bare one-row commits {floor:,.0f}/s")
    return [result, Result(
        f"append_single_vs_two_row_floor_{writers_name}", max(kits), "events/s",
        "event row + outbox row, one statement and commit each, no lock or check, same writers", two_rows,
    ), Result(
        f"append_single_vs_commit_floor_{writers_name}", max(kits), "events/s",
        "one-row INSERT, one commit each, same writers (the WAL flush floor)", floor,
    )]


# A ServiceDelivered of the workload's shape and size, made by PostgreSQL: n rows in a few seconds.
_FILL = """
INSERT INTO {schema}.events
SELECT g, gen_random_uuid(), 'resident-' || (g % $2), (g - 1) / $2 + 1, 'ServiceDelivered', 1,
       timestamptz '2013-01-01 08:00+08' + g * interval '17 minutes',
       timestamptz '2013-01-01 09:00+08' + g * interval '17 minutes',
       (ARRAY['370402001001','370402001002','370402002001','370402104001','370402104002'])[1 + g % 5],
       'services-log', NULL, NULL,
       jsonb_build_object(
         'service_id', gen_random_uuid(), 'resident_id', md5('resident-' || (g % $2)),
         'service_kind', (ARRAY['free_contraceptives','pregnancy_check','follow_up_visit','policy_publicity'])[1 + g % 4],
         'household_ref', 'household-' || lpad((g % 997)::text, 4, '0'),
         'delivered_by_unit', '370402001001', 'staff_ref', 'staff-' || lpad((g % 177)::text, 3, '0'),
         'free_of_charge', true, 'cross_unit_reason', '随访：已发放避孕药具，并一次性告知办证所需材料',
         'resident_unit', '370402001001')
FROM generate_series($1::bigint, $1::bigint + $3::bigint - 1) AS g
"""
# The recorder's rows: the same events, in the same order, each the envelope as JSON bytes.
_COPY_TO_PEER = """
INSERT INTO {peer}.stored_events (originator_id, originator_version, topic, state)
SELECT stream_id, stream_version, event_type, convert_to(row_to_json(e)::text, 'UTF8')
FROM {schema}.events e ORDER BY position
"""


async def _filled(ctx: Context, n: int) -> tuple[EventStore, str]:
    """A kit store and a recorder's table holding the same ``n`` events."""
    store = EventStore(ctx.pool, ctx.schema("read"))
    await store.setup()
    streams = max(1, n // 10)
    chunk = 100_000
    for first in range(1, n + 1, chunk):
        await ctx.pool.execute(_FILL.format(schema=store.schema), first, streams, min(chunk, n - first + 1))
    peer = ctx.schema("es_read")
    await ctx.pool.execute(f"CREATE SCHEMA {peer}")
    await asyncio.to_thread(lambda: _datastore_recorder_setup(ctx.database_url, peer))
    await ctx.pool.execute(_COPY_TO_PEER.format(peer=peer, schema=store.schema), timeout=None)
    for table in (store.table, f"{peer}.stored_events"):  # the same treatment: visibility map, statistics
        await ctx.pool.execute(f"VACUUM ANALYZE {table}", timeout=None)
    return store, peer


def _datastore_recorder_setup(database_url: str, schema: str) -> None:
    datastore = _datastore(database_url, schema, 1)
    try:
        _recorder(datastore)
    finally:
        datastore.close()


async def _kit_read_all(store: EventStore, n: int) -> float:
    started, count = time.perf_counter(), 0
    async for rows in store.replay_raw(page=PAGE):
        count += len(rows)
    elapsed = time.perf_counter() - started
    assert count == n, count
    return rate(n, elapsed)


def _peer_read_all(database_url: str, schema: str, n: int) -> float:
    datastore = _datastore(database_url, schema, 1)
    try:
        recorder = PostgresApplicationRecorder(datastore)
        recorder.max_notification_id()  # the connection open before the clock starts
        started, count, start = time.perf_counter(), 0, 1
        while notifications := recorder.select_notifications(start, PAGE):
            count += len(notifications)
            start = notifications[-1].id + 1
        elapsed = time.perf_counter() - started
    finally:
        datastore.close()
    assert count == n, count
    return rate(n, elapsed)


async def read_all(ctx: Context, n: int, rounds: int) -> list[Result]:
    say(f"read all: filling two stores with {n:,} events ...")
    started = time.perf_counter()
    store, peer = await _filled(ctx, n)
    say(f"  filled in {time.perf_counter() - started:.0f}s")
    try:
        kits, peers = [], []
        for i in range(rounds):
            pair = ["kit", "peer"] if i % 2 == 0 else ["peer", "kit"]
            for who in pair:
                if who == "kit":
                    kits.append(await _kit_read_all(store, n))
                else:
                    peers.append(await asyncio.to_thread(_peer_read_all, ctx.database_url, peer, n))
        read = Result(
            "read_all_vs_eventsourcing", max(kits), "events/s",
            f"{PEER}.select_notifications, {n:,} events, {PAGE:,} per query", max(peers),
        )
        say(f"  read all: {read.value:,.0f} / {read.limit_value:,.0f} events/s = {read.ratio:.2f}")
        return [read]
    finally:
        await ctx.drop_schema(store.schema)
        await ctx.drop_schema(peer)
