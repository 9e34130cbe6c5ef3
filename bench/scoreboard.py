"""``scoreboard_as_known_1m``: the assessment's scoreboard of a year as known at a past date
(``known_at``), over a million facts of history, through the query path ``GET /api/scoreboard``
calls (``Scoreboards.scoreboard``).

The history is the demo's made-up year (realistic units, people, kinds, recorded dates spread
over the year) turned into facts once, then cloned with fresh ids (every id of a clone, links
between people included, XORed with the clone's own mask: a clone is the same year lived by
other people in the same villages) and COPYed straight into the facts table of a bench schema.
No event goes through Kafka: the figure is the read, not the projection.

``python -m bench.scoreboard [--facts N] [--requests R]`` prints the rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from assessment.adapters import decisions_store, tables
from assessment.adapters.facts_store import FactStore
from assessment.domain.facts import LINK_FIELDS, Fact, facts_of
from assessment.domain.periods import Clocks, Period
from assessment.service_layer.queries import Reads
from assessment.service_layer.scoreboard import Scoreboards
from assessment.settings import DEFAULT_RULES, load_rules
from bench.latency import percentiles
from platform_kit.calendar import DISTRICT_TZ
from platform_kit.clock import SettableClock
from platform_kit.contract import catalogue
from platform_kit.database import apply_ddl, create_pool
from platform_kit.event_store import EventStore
from platform_kit.units import unit_tree

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "assessment" / "tests"))
from assessment_demo import demo_history  # noqa: E402

# Now, for the service: the end of the year. The scoreboard asked for is the year as the
# district knew it at the end of October, so it is never the live view.
NOW = SettableClock(datetime(2013, 12, 31, 12, tzinfo=DISTRICT_TZ))
KNOWN_AT = datetime(2013, 10, 31, 23, 59, 59, tzinfo=DISTRICT_TZ)
ID_FIELDS = (*LINK_FIELDS, "corrects")  # the data fields that hold another fact's or person's id


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def base_facts(people_per_village: int) -> list[Fact]:
    """The demo year's facts, as the projection makes them."""
    return [f for e in demo_history(seed=2013, people_per_village=people_per_village) for f in facts_of(e, catalogue.load(e))]


def clone(facts: list[Fact], mask: int) -> list[Fact]:
    """The same facts about other people: every id XORed with ``mask`` (a bijection, so links
    still meet and no two clones share an id)."""

    def other(value: object) -> object:
        return uuid.UUID(int=uuid.UUID(str(value)).int ^ mask) if value else value

    return [
        replace(
            f, subject=other(f.subject), event_id=other(f.event_id),
            data={k: (str(other(v)) if k in ID_FIELDS and v else v) for k, v in f.data.items()},
        )
        for f in facts
    ]


async def fill(pool, schema: str, n: int, people_per_village: int) -> int:
    """About ``n`` facts in ``schema``'s facts table; how many."""
    base = base_facts(people_per_village)
    store, rng, written = FactStore(schema), random.Random(14), 0
    while written < n:
        batch = clone(base, rng.getrandbits(128)) if written else base
        batch = batch[: n - written]
        async with pool.acquire() as conn:
            await store.add(conn, batch)
        written += len(batch)
    await pool.execute(f"VACUUM ANALYZE {schema}.facts")
    return written


async def run(database_url: str, n: int, requests: int, budget_seconds: float = 300.0) -> list[dict]:
    schema = f"bench_sb_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(database_url, max_size=4)
    try:
        await EventStore(pool, schema).setup()  # the decisions are read from the assessment's store
        await apply_ddl(pool, schema, tables.DDL)
        await apply_ddl(pool, schema, decisions_store.DDL)
        started = time.perf_counter()
        written = await fill(pool, schema, n, people_per_village=24)
        say(f"  {written:,} facts written in {time.perf_counter() - started:.0f}s")
        boards = Scoreboards(Reads(lambda: pool, schema, load_rules(DEFAULT_RULES), unit_tree(), clock=NOW))
        clocks, period = Clocks(known_at=KNOWN_AT), Period(2013)
        seconds: list[float] = []
        began = None  # the budget counts from the second request: the first computes the snapshot
        while len(seconds) < requests and (began is None or time.perf_counter() - began < budget_seconds):
            t = time.perf_counter()
            board = await boards.scoreboard(period, "town", None, clocks)
            seconds.append(time.perf_counter() - t)
            began = began or time.perf_counter()
        assert board["source"] == "history" and board["rows"], board["source"]
        say(f"  {len(seconds)} requests: first {seconds[0]:.2f}s, then {', '.join(f'{s:.2f}' for s in seconds[1:6])} ...")
    finally:
        await pool.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await pool.close()
    # The first request computes the snapshot the others read: shown apart, not in the percentiles.
    p = percentiles(seconds[1:], (50, 99))
    label = f"scoreboard_as_known_1m ({written:,} facts, a year as known at a past date"
    return [
        {"name": f"{label}, {len(seconds) - 1} requests) p50", "value": p[50] * 1000, "unit": "ms", "limit_name": "goal p99", "limit_value": 500},
        {"name": f"{label}, {len(seconds) - 1} requests) p99", "value": p[99] * 1000, "unit": "ms", "limit_name": "goal p99", "limit_value": 500},
        {"name": f"{label}) first request, computing its snapshot", "value": seconds[0], "unit": "s", "limit_name": None, "limit_value": None},
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scoreboard", description=__doc__)
    parser.add_argument("--facts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args(argv)
    rows = asyncio.run(run(os.environ["DATABASE_URL"], args.facts, args.requests))
    print(json.dumps(rows, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
