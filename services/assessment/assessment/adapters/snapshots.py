"""Figures of a period as known at a past date, kept once computed.

A period seen through ``known_at`` is recomputed from every fact recorded by then (minutes
for a million facts), yet it can only change if a fact recorded by then arrives later. Facts
are append-only and numbered in the order they are stored (``facts.stored``), so a snapshot
keeps the highest number when it was computed and holds while no fact recorded at or before
``known_at`` was stored after it: a look at the facts stored since (few, through the index on
``stored``), where a count of every fact recorded by then (an index-only scan of ~0.9 M
entries at a million facts) took 0.2 to 0.3 s of every read. A late event or a rebuild under
way (its facts are stored anew, numbered after) makes it stale; it is recomputed and
replaced. The rules and the unit tree the figures were computed with are part of the key: a
changed configuration never reads an old snapshot.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from assessment.domain.periods import Clocks, Period

Figures = dict[tuple[str, str], tuple[int, int]]  # (unit, indicator) -> (numerator, denominator)

# Their table and the index that counts facts by knowledge date: tables.DDL.


def fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]


def key(period: Period, population: str, clocks: Clocks, configuration: str) -> str:
    as_of = clocks.as_of.isoformat() if clocks.as_of else ""
    return f"v2|{period}|{population}|{as_of}|{clocks.known_at.isoformat()}|{configuration}"


class Snapshots:
    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def mark(self, conn) -> int:
        """The highest number of a stored fact: taken before the facts are read, so a fact
        stored meanwhile makes the snapshot stale, never wrongly current."""
        return await conn.fetchval(f"SELECT coalesce(max(stored), 0) FROM {self.schema}.facts")

    async def get(self, conn, key: str, known_at: datetime) -> Figures | None:
        row = await conn.fetchrow(
            f"SELECT s.figures FROM {self.schema}.figure_snapshots s WHERE s.key = $1 AND NOT EXISTS ("
            f"  SELECT 1 FROM {self.schema}.facts f WHERE f.stored > s.facts_seen AND f.recorded_at <= $2)",
            key, known_at,
        )
        if row is None:
            return None
        return {(u, i): (n, d) for u, i, n, d in row["figures"]}

    async def put(self, conn, key: str, mark: int, figures: Figures) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.figure_snapshots (key, facts_seen, figures) VALUES ($1, $2, $3) "
            "ON CONFLICT (key) DO UPDATE SET facts_seen = EXCLUDED.facts_seen, figures = EXCLUDED.figures",
            key, mark, [[u, i, n, d] for (u, i), (n, d) in figures.items()],
        )
