"""``replay_1m`` / ``replay_5m``: a full rebuild of the assessment's views (facts, penalties,
stream marks, and at the end the live coverage of every unit, indicator and period) from N
demo-shaped events, as ``CoverageProjection`` does it: ``reset``, every event applied in the
runner's batches with ``replaying_until`` set, then ``replayed`` (the final count).

* events/s: N over the wall time of the applies and the final count (making the events is not
  timed: it happens between batches, outside the clock);
* ms CPU an event, of this process (PostgreSQL's share is in the wall time only);
* peak memory: the peak RSS of the process that rebuilt (``VmHWM``), each N in a fresh process
  so that nothing else the bench held counts; the RSS before the rebuild started (imports, the
  base year) is said beside it. Not ``getrusage``'s ru_maxrss: Linux keeps it across exec, so a
  child of the bench (which holds its workload, a GiB) reported the bench's peak as its own.

The events: the demo's made-up year (one seed, ~8,600 events), cloned with fresh ids (every
UUID of an envelope and of its payload's top level XORed with the clone's mask: the same year
lived by other people in the same villages) one clone at a time, so that 5M events never sit
in memory together.

``python -m bench.replay N`` prints the rows as JSON; ``rows(database_url, n)`` runs that in a
child process and returns them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from assessment.settings import AssessmentSettings
from platform_kit.database import create_pool
from platform_kit.envelope import Envelope

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "assessment" / "tests"))
from assessment_demo import demo_history  # noqa: E402

from bench.assessment import apply_in_batches, rebuilding  # noqa: E402


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def label(n: int) -> str:
    return f"{n // 1_000_000}m" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def _masked(value: str, mask: int) -> str:
    return str(uuid.UUID(int=uuid.UUID(value).int ^ mask))


def _is_uuid(value: object) -> bool:
    return isinstance(value, str) and len(value) == 36 and value.count("-") == 4


def clone(events: list[Envelope], mask: int, tag: str) -> list[Envelope]:
    """The same events about other people: ids XORed with ``mask`` (a bijection, so links meet
    and clones never share an id); a stream named by something else gets ``tag``."""
    out = []
    for e in events:
        kind, _, rest = e.stream_id.partition("-")
        stream = f"{kind}-{_masked(rest, mask)}" if _is_uuid(rest) else f"{e.stream_id}{tag}"
        payload = {k: (_masked(v, mask) if _is_uuid(v) else v) for k, v in e.payload.items()}
        out.append(e.model_copy(update={
            "event_id": uuid.UUID(int=e.event_id.int ^ mask), "stream_id": stream, "payload": payload,
            "correlation_id": e.correlation_id and uuid.UUID(int=e.correlation_id.int ^ mask),
        }))
    return out


def events(n: int) -> Iterator[list[Envelope]]:
    """N events in clones of the demo year, one clone (in recorded order) at a time."""
    base = sorted(demo_history(seed=2014, people_per_village=12, prefix="rb-"), key=lambda e: e.recorded_at)
    rng = random.Random(14)
    left, k = n, 0
    while left > 0:
        part = clone(base, rng.getrandbits(128), f"c{k}")[:left]
        left -= len(part)
        k += 1
        yield part


class ChunkClock:
    """Where the final count's time goes, chunk by chunk: reading (the cursor's rows and the
    linked people's facts, decoded into facts: wall and CPU) and counting (``from_scratch`` and
    the sum: CPU), said every ``every`` chunks, so a cost that grows with the table shows."""

    def __init__(self, store, every: int = 40) -> None:
        self.read_wall = self.read_cpu = self.count_cpu = 0.0
        self.people = self.chunks = 0
        self.every, self._in_chunks = every, store.in_chunks
        store.in_chunks = self.in_chunks

    async def in_chunks(self, *args, **kwargs):
        chunks = aiter(self._in_chunks(*args, **kwargs))
        while True:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                people, facts = await anext(chunks)
            except StopAsyncIteration:
                return
            self.read_wall += time.perf_counter() - wall
            self.read_cpu += time.process_time() - cpu
            cpu = time.process_time()
            yield people, facts
            self.count_cpu += time.process_time() - cpu
            self.people += len(people)
            self.chunks += 1
            if self.chunks % self.every == 0:
                say(f"    final count: {self.people:,} people; reading {self.read_wall:.0f}s ({self.read_cpu:.0f}s CPU),"
                    f" counting {self.count_cpu:.0f}s CPU ({1e6 * self.count_cpu / self.people:.0f} µs a person)")


def rss_mib() -> float:
    """This process's peak RSS so far, in MiB: its memory's high-water mark (``VmHWM``, which
    a new program starts afresh, unlike ru_maxrss)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # no /proc: KiB on Linux


async def rebuild(database_url: str, n: int, batch: int | None = None) -> list[dict]:
    settings = AssessmentSettings()
    size = batch or settings.projection_batch_size
    schema = f"bench_{uuid.uuid4().hex[:8]}_replay"
    pool = await create_pool(database_url, max_size=2)
    stream = events(n)
    first = next(stream)
    rss_before = rss_mib()
    wall = cpu = count_wall = count_cpu = 0.0
    applied = 0
    try:
        # Every clone is the same year: history ends where the base year's ends.
        projection = await rebuilding(pool, schema, max(e.recorded_at for e in first))
        async with pool.acquire() as conn:
            for part in itertools.chain([first], stream):  # one clone at a time, never all
                started, cpu_started = time.perf_counter(), time.process_time()
                await apply_in_batches(conn, projection, part, size)
                wall += time.perf_counter() - started
                cpu += time.process_time() - cpu_started
                applied += len(part)
                if applied % 200_000 < len(part):
                    say(f"    {applied:,} events applied in {wall:.0f}s ({cpu:.0f}s CPU)")
            rss_replayed = rss_mib()
            chunks = ChunkClock(projection.live.facts)
            started, cpu_started = time.perf_counter(), time.process_time()
            async with conn.transaction():
                await projection.replayed(conn)
            count_wall, count_cpu = time.perf_counter() - started, time.process_time() - cpu_started
            cells = await conn.fetchval(f"SELECT count(*) FROM {schema}.coverage")
    finally:
        await pool.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await pool.close()
    wall, cpu = wall + count_wall, cpu + count_cpu
    peak = rss_mib()
    say(f"  replay_{label(n)}: {applied:,} events in {wall:.1f}s ({cpu:.1f}s CPU; the final count {count_wall:.1f}s,"
        f" {count_cpu:.1f}s CPU); {cells:,} cells; peak RSS {peak:.0f} MiB ({rss_before:.0f} before,"
        f" {rss_replayed:.0f} before the final count);"
        f" load average {os.getloadavg()[0]:.2f}")
    name = f"replay_{label(n)}"
    return [
        {"name": name, "value": applied / wall, "unit": "events/s (assessment rebuild, final count included)"},
        {"name": f"{name}_cpu_per_event", "value": 1000 * cpu / applied, "unit": "ms CPU (rebuilding process)"},
        {"name": f"{name}_final_count", "value": count_wall, "unit": "s (of the rebuild's wall time)"},
        {"name": f"{name}_final_count_reading", "value": chunks.read_wall,
         "unit": f"s reading the facts by chunks of people ({chunks.read_cpu:.0f} s CPU of it)"},
        {"name": f"{name}_counting_per_person", "value": 1e6 * chunks.count_cpu / max(chunks.people, 1),
         "unit": f"µs CPU a person counted ({chunks.people:,} people)"},
        {"name": f"{name}_peak_memory", "value": peak,
         "unit": f"MiB peak RSS (VmHWM; {rss_before:.0f} before the rebuild)"},
    ]


def rows(database_url: str, n: int) -> list[dict]:
    """``rebuild`` in a fresh process: its peak RSS is the rebuild's, not the bench's."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.replay", str(n)], env={**os.environ, "DATABASE_URL": database_url},
        stdout=subprocess.PIPE, check=True,
    )
    return json.loads(done.stdout)


def growth(small: list[dict], large: list[dict]) -> list[dict]:
    """How the rebuild's cost grows from the small N to the large: events/s and peak memory,
    large over small (events/s 1.0 = linear time; memory 1.0 = flat)."""
    by = {r["name"].split("_", 2)[-1] if r["name"].count("_") > 1 else "rate": r["value"] for r in small}
    of = {r["name"].split("_", 2)[-1] if r["name"].count("_") > 1 else "rate": r["value"] for r in large}
    a, b = small[0]["name"], large[0]["name"]
    return [
        {"name": f"{b}_vs_{a}_rate", "value": of["rate"] / by["rate"], "unit": "events/s ratio (>= 1: linear or better)"},
        {"name": f"{b}_vs_{a}_memory", "value": of["peak_memory"] / by["peak_memory"], "unit": "peak RSS ratio"},
    ]


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 100_000
    batch = int(argv[1]) if len(argv) > 1 else None
    print(json.dumps(asyncio.run(rebuild(os.environ["DATABASE_URL"], n, batch)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
