"""The assessment service under load, beside its raw limit:

* ``assessment_output_per_input``: the CoverageChanged events (v2: each lists many cells) the
  announcer appends (at the service's interval, beside the projection) per input event of that year;
* events/s applied by the coverage projection (facts, and the live view of every unit,
  indicator and period, with the changed cells marked for the announcer), from a backlog of a
  made-up district's year, against a plain aiokafka consumer reading the same messages;
* how long an event takes from its publication to being visible on ``/api/scoreboard``
  (p50, p99), while a steady background load of other events flows through the service;
* ``assessment_rebuild``: a rebuild of the assessment's real views (facts, penalties, the live
  coverage of every unit, indicator and period) from N demo-shaped events (100k quick, 1M
  full), in events/s, with the CPU the projection spent an event (on this shared machine wall
  time is ~3× the CPU) and its peak Python memory (``tracemalloc``, a second pass).

``await run(bootstrap_servers, database_url, quick)`` returns rows {name, value, unit,
limit_name, limit_value, ratio}; ``python -m bench.assessment [--quick]`` prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from assessment.domain.coverage import compile_indicators, from_scratch, rolled_up
from assessment.domain.facts import by_subject, facts_of
from assessment.domain.periods import Period
from assessment.entrypoints.projection import CoverageProjection
from assessment.service_layer.announcer import Announcer
from assessment.settings import DEFAULT_RULES, AssessmentSettings, load_rules
from platform_kit.calendar import DISTRICT_TZ
from platform_kit.clock import SYSTEM_CLOCK, SettableClock
from platform_kit.contract import catalogue
from platform_kit.database import apply_ddl, create_pool
from platform_kit.envelope import Envelope
from platform_kit.event_store import EventStore
from platform_kit.kafka import ensure_topics, idempotent_producer
from platform_kit.projection import ProjectionRunner
from platform_kit.topics import Topics
from platform_kit.testing import bearer, free_port, use_test_key
from platform_kit.units import unit_tree

# The made-up year and the history builder are test fixtures, kept beside the assessment's tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "assessment" / "tests"))
from assessment_demo import demo_history, publish  # noqa: E402
from assessment_testing import History  # noqa: E402

PARTITIONS = 3
# The service's clock in the made-up year, as a deployment's clock is in its data's year: the
# live view then holds that year and the one before (the defaults), not today's two as well.
IN_THE_YEAR = SettableClock(datetime(2013, 12, 31, 12, tzinfo=DISTRICT_TZ))
PROBE_TOWN = "370402104000"  # 西王庄乡: the probes' town; the background load lives elsewhere
BACKGROUND_PER_SECOND = 50  # a district's busy hour is thousands of events a minute
POLL_SECONDS = 0.01  # how often a probe asks the scoreboard: the latency's resolution


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def row(name: str, value: float, unit: str, limit_name: str | None = None, limit_value: float | None = None) -> dict:
    return {
        "name": name, "value": round(value, 1) if value >= 10 else round(value, 3), "unit": unit, "limit_name": limit_name,
        "limit_value": None if limit_value is None else round(limit_value, 1),
        "ratio": None if limit_value is None else round(value / limit_value, 3),
    }


class Scratch:
    """Namespaces, schemas and topics of this run, removed at the end."""

    def __init__(self, bootstrap_servers: str, database_url: str) -> None:
        self.bootstrap_servers, self.database_url = bootstrap_servers, database_url
        self.run_id = uuid.uuid4().hex[:8]
        self.namespaces: list[str] = []
        self.schemas: list[str] = []

    def namespace(self, stage: str) -> Topics:
        name = f"b{self.run_id}{stage}."
        self.namespaces.append(name)
        return Topics(name)

    def schema(self, stage: str) -> str:
        name = f"bench_{self.run_id}_{stage}"
        self.schemas.append(name)
        return name

    async def close(self) -> None:
        pool = await create_pool(self.database_url, max_size=2)
        try:
            for schema in self.schemas:
                await pool.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await pool.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        await admin.start()
        try:
            mine = [t for t in await admin.list_topics() if any(t.startswith(n) or n in t for n in self.namespaces)]
            mine += [t for t in await admin.list_topics() if any(f"deadletter.{s}" in t for s in self.schemas)]
            if mine:
                await admin.delete_topics(sorted(set(mine)))
        finally:
            await admin.close()


async def raw_consume(bootstrap_servers: str, topics: list[str], n: int) -> float:
    """A plain consumer reading the same N messages from the beginning, decoding nothing."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest",
        isolation_level="read_committed", max_partition_fetch_bytes=4 * 1024 * 1024, fetch_max_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        started, count = time.perf_counter(), 0
        while count < n:
            batch = await consumer.getmany(timeout_ms=200)
            count += sum(len(records) for records in batch.values())
        return n / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def projection_apply(scratch: Scratch, producer, quick: bool) -> list[dict]:
    events = demo_history(seed=2013, people_per_village=3 if quick else 12)
    topics = scratch.namespace("apply")
    await ensure_topics(scratch.bootstrap_servers, topics.public, partitions=PARTITIONS, keep_forever=False)
    await publish(events, scratch.bootstrap_servers, topics.registry_events, topics.services_events)
    say(f"  {len(events):,} events of a made-up year published")

    schema = scratch.schema("apply")
    pool = await create_pool(scratch.database_url, max_size=4)
    try:
        settings = AssessmentSettings()
        projection = CoverageProjection(
            schema=schema, topics=[topics.registry_events, topics.services_events], rules=load_rules(DEFAULT_RULES),
            tree=unit_tree(), catalogue=catalogue, clock=IN_THE_YEAR,
        )
        runner = ProjectionRunner(
            projection, pool=pool, schema=schema, bootstrap_servers=scratch.bootstrap_servers, producer=producer,
            catalogue=catalogue, batch_size=settings.projection_batch_size,
        )
        await runner.setup()
        # The announcer beside it, as the service runs them, at the service's interval: what
        # it appends to the assessment's store is its output for these inputs.
        store = EventStore(pool, schema)
        await store.setup()
        announcer = Announcer(
            schema, projection.rules, lambda: store, settings.announce_interval_seconds, SYSTEM_CLOCK
        )
        await announcer.setup(pool)
        stop, announcing = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        while len(runner.stats.assigned) < 2 * PARTITIONS:
            await _alive(task)
        announcer_task = asyncio.create_task(announcer.run(announcing))
        started = time.perf_counter()
        while runner.stats.applied + runner.stats.dead_lettered + runner.stats.duplicates < len(events):
            await _alive(task)
        elapsed = time.perf_counter() - started
        stop.set()
        announcing.set()
        await task
        await announcer_task
        await announcer.announce()  # what the last tick had not seen yet
        assert runner.stats.dead_lettered == 0, runner.stats
        cells = await pool.fetchval(f"SELECT count(*) FROM {schema}.coverage")
        announced = await pool.fetchval(f"SELECT count(*) FROM {schema}.events WHERE event_type = 'CoverageChanged'")
        say(f"  applied in {elapsed:.1f}s; {runner.stats.batches} batches; {cells:,} cells in the live view; {announced:,} CoverageChanged")
    finally:
        await pool.close()
    limit = await raw_consume(scratch.bootstrap_servers, [topics.registry_events, topics.services_events], len(events))
    return [
        row(
            "assessment_projection_vs_raw_consume", len(events) / elapsed, "events/s",
            "aiokafka consumer, same messages, no decoding", limit,
        ),
        row(
            "assessment_output_per_input", announced / len(events), "CoverageChanged per input event",
        ),
    ]


def demo_events(n: int) -> list[Envelope]:
    """At least ``n`` events shaped like the demo year's, from as many made-up districts' worth
    of people (each its own prefix, so nobody is two people) as it takes."""
    events: list[Envelope] = []
    part = 0
    while len(events) < n:
        part += 1
        events += demo_history(seed=2013 + part, people_per_village=12, prefix=f"r{part}-")
    return sorted(events, key=lambda e: e.recorded_at)


async def rebuild(
    database_url: str, n: int, batch: int | None = None, *, incremental: bool = False, peak: bool = True
) -> list[dict]:
    """The coverage projection's ``reset`` and then every event applied, in the runner's batch
    size, each batch its own transaction, as a rebuild does after reading its topics (Kafka's
    share is ``assessment_projection_vs_raw_consume``'s limit; this is the views' share), ending
    with ``replayed`` as the runner calls it on reaching the end offsets the rebuild began with.
    ``incremental``: no reset, so every batch moves the live view as live traffic does (the
    rebuild before the fast path). ``peak``: a second pass under ``tracemalloc`` for the peak
    Python memory the rebuild allocates (the events themselves are made before it starts)."""
    events = demo_events(n)
    size = batch or AssessmentSettings().projection_batch_size
    elapsed, cpu, cells = await _rebuild_once(database_url, events, size, incremental)
    label = " (incremental)" if incremental else ""
    say(f"  {len(events):,} events rebuilt{label} in {elapsed:.1f}s ({cpu:.1f}s CPU here); {cells:,} cells in the live view;"
        f" load average {os.getloadavg()[0]:.2f}")
    name = "assessment_rebuild_incremental" if incremental else "assessment_rebuild"
    rows = [
        row(name, len(events) / elapsed, "events/s"),
        row(f"{name}_cpu_per_event", 1000 * cpu / len(events), "ms CPU (this process)"),
    ]
    if peak:
        tracemalloc.start()
        try:
            await _rebuild_once(database_url, events, size, incremental)
            _, most = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        say(f"  peak {most / 2**20:.1f} MiB (tracemalloc)")
        rows.append(row(f"{name}_peak_memory", most / 2**20, "MiB (tracemalloc)"))
    return rows


async def rebuilding(pool, schema: str, history_ends: datetime | None) -> CoverageProjection:
    """The assessment's projection in a fresh ``schema``, reset for a rebuild whose history
    ends at ``history_ends`` (the demo's events are recorded after the service's clock, so the
    rebuild is said to have begun after the last of them); None: not reset (the incremental
    path, as live traffic applies it)."""
    projection = CoverageProjection(
        schema=schema, topics=[], rules=load_rules(DEFAULT_RULES), tree=unit_tree(), catalogue=catalogue,
        clock=IN_THE_YEAR,
    )
    await apply_ddl(pool, schema, projection.ddl)
    if history_ends is not None:
        async with pool.acquire() as conn, conn.transaction():
            await projection.reset(conn)
            await conn.execute(f"UPDATE {schema}.view_state SET value = $1 WHERE key = 'replaying_until'", history_ends)
    return projection


async def apply_in_batches(conn, projection: CoverageProjection, events: list[Envelope], size: int) -> None:
    """``events`` applied as the runner applies them: ``size`` at a time, each its own transaction."""
    for i in range(0, len(events), size):
        async with conn.transaction():
            await projection.apply(conn, events[i:i + size])


async def _rebuild_once(database_url: str, events: list[Envelope], size: int, incremental: bool) -> tuple[float, float, int]:
    schema = f"bench_{uuid.uuid4().hex[:8]}_rebuild"
    pool = await create_pool(database_url, max_size=2)
    try:
        projection = await rebuilding(pool, schema, None if incremental else max(e.recorded_at for e in events))
        async with pool.acquire() as conn:
            started, cpu_started = time.perf_counter(), time.process_time()
            await apply_in_batches(conn, projection, events, size)
            say(f"    events applied in {time.perf_counter() - started:.1f}s ({time.process_time() - cpu_started:.1f}s CPU)")
            if not incremental:
                async with conn.transaction():
                    await projection.replayed(conn)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            cells = await conn.fetchval(f"SELECT count(*) FROM {schema}.coverage")
    finally:
        await pool.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await pool.close()
    return elapsed, cpu, cells


async def _alive(task: asyncio.Task, interval: float = 0.005) -> None:
    if task.done():
        task.result()
        raise RuntimeError(f"{task.get_name()} ended early")
    await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def serving(settings: dict[str, str]) -> AsyncIterator[str]:
    """``python -m assessment`` in its own process, as it runs in production; its base URL."""
    port = free_port()
    env = {**os.environ, **settings, "HTTP_PORT": str(port), "LOG_LEVEL": "WARNING"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "assessment", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"python -m assessment exited with {process.returncode}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/health/ready")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        yield base_url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()


def _district_residents(events: list[Envelope]) -> int:
    """How many the district counts in 2013 for services_where_they_live once ``events`` are in."""
    rules = load_rules(DEFAULT_RULES)
    facts = by_subject(f for e in events for f in facts_of(e, catalogue.load(e)))
    view = rolled_up(from_scratch(facts, [Period(2013)], compile_indicators(rules.indicators)), unit_tree())
    return view.get((unit_tree().district.code, "services_where_they_live", Period(2013)), (0, 0))[1]


async def background(events: list[Envelope], producer, topics: Topics, stop: asyncio.Event, per_second: float) -> int:
    """Publish ``events`` at a steady rate until told to stop; returns how many were sent."""
    sent, started = 0, time.perf_counter()
    while not stop.is_set() and sent < len(events):
        due = int((time.perf_counter() - started) * per_second)
        for e in events[sent:due]:
            await producer.send(topics.registry_events if e.source == "registry" else topics.services_events,
                                value=e.to_bytes(), key=e.key)
        sent = max(sent, min(due, len(events)))
        await asyncio.sleep(0.02)
    return sent


async def latency(scratch: Scratch, producer, quick: bool) -> list[dict]:
    topics = scratch.namespace("latency")
    settings = {
        "KAFKA_BOOTSTRAP_SERVERS": scratch.bootstrap_servers, "DATABASE_URL": scratch.database_url,
        "TOPIC_NAMESPACE": topics.namespace, "DATABASE_SCHEMA": scratch.schema("latency"),
        "CLOCK_START": IN_THE_YEAR.now().isoformat(), "CLOCK_STARTED_AT": datetime.now(UTC).isoformat(),
    }
    others = [t.code for t in unit_tree().towns() if t.code != PROBE_TOWN]
    preload = demo_history(seed=5, people_per_village=3 if quick else 8, towns=others)
    load = demo_history(seed=6, people_per_village=12, towns=others, prefix="bg")
    village = unit_tree().children(PROBE_TOWN)[0].code
    probes = 20 if quick else 100
    await ensure_topics(scratch.bootstrap_servers, topics.public, partitions=PARTITIONS, keep_forever=False)
    async with serving(settings) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30, headers=bearer()) as http:
        await publish(preload, scratch.bootstrap_servers, topics.registry_events, topics.services_events)
        expected = _district_residents(preload)

        async def district_residents() -> int:
            coverage = (await http.get(f"/api/units/{unit_tree().district.code}/coverage", params={"period": "2013"})).json()
            return next(i["denominator"] for i in coverage["indicators"] if i["id"] == "services_where_they_live")

        while await district_residents() < expected:
            await asyncio.sleep(0.1)
        say(f"  python -m assessment up with {len(preload):,} events; background load {BACKGROUND_PER_SECOND}/s")
        stop = asyncio.Event()
        loading = asyncio.create_task(background(load, producer, topics, stop, BACKGROUND_PER_SECOND))
        params = {"period": "2013-12", "level": "village", "parent": PROBE_TOWN}

        async def residents_of_village() -> int:
            board = (await http.get("/api/scoreboard", params=params)).json()
            cell = next(r for r in board["rows"] if r["unit_code"] == village)
            return cell["indicators"]["services_where_they_live"]["denominator"]

        seen, probe = [], History(salt=f"probe{scratch.run_id}")
        try:
            for i in range(probes):
                expected = await residents_of_village() + 1
                event = probe.registered(f"probe{scratch.run_id}-{i}", unit=village, at="2013-12-01", sex="male", born="1990-01-01")
                started = time.perf_counter()
                await (await producer.send(topics.registry_events, value=event.to_bytes(), key=event.key))
                while await residents_of_village() < expected:
                    await asyncio.sleep(POLL_SECONDS)
                seen.append((time.perf_counter() - started) * 1000)
        finally:
            stop.set()
            sent = await loading
        say(f"  {probes} probes; {sent:,} background events sent meanwhile")
    seen.sort()
    p50 = statistics.median(seen)
    p99 = seen[min(len(seen) - 1, round(0.99 * (len(seen) - 1)))]
    name = f"publish -> visible on /api/scoreboard, {BACKGROUND_PER_SECOND} events/s background"
    return [row(f"{name} (p50)", p50, "ms"), row(f"{name} (p99)", p99, "ms")]


async def run(bootstrap_servers: str, database_url: str, quick: bool) -> list[dict]:
    if "AUTH_PUBLIC_KEY_FILE" not in os.environ:
        # Every route needs a signed caller: the service started here trusts a key of the
        # bench's own, as the tests' services do (the development issuer, never production's).
        use_test_key(os.environ.get("MSP_KEY_DIR") or tempfile.mkdtemp(prefix="msp-bench-keys-"))
    scratch = Scratch(bootstrap_servers, database_url)
    producer = idempotent_producer(bootstrap_servers)
    await producer.start()
    try:
        say("assessment: projection apply ...")
        results = await projection_apply(scratch, producer, quick)
        say("assessment: publication to scoreboard latency ...")
        results += await latency(scratch, producer, quick)
        say("assessment: rebuild of its views ...")
        results += await rebuild(database_url, 100_000 if quick else 1_000_000)
        return results
    finally:
        await producer.stop()
        await scratch.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.assessment", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rebuild-only", type=int, metavar="N", help="only the rebuild, from N events")
    parser.add_argument("--batch", type=int, help="the rebuild's batch size (default: the runner's); small ones are the live shape")
    parser.add_argument("--incremental", action="store_true", help="the rebuild through the live path (no fast path): the before")
    parser.add_argument("--no-peak", action="store_true", help="skip the second pass under tracemalloc")
    args = parser.parse_args(argv)
    if args.rebuild_only:
        rows = asyncio.run(rebuild(
            os.environ["DATABASE_URL"], args.rebuild_only, args.batch, incremental=args.incremental, peak=not args.no_peak
        ))
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    rows = asyncio.run(run(os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"], args.quick))
    print(json.dumps(rows, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
