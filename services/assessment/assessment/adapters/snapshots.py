"""Figures of a period as known at a past date, kept once computed.

A period seen through ``known_at`` is recomputed from every fact recorded by then (minutes
for a million facts), yet it can only change if a fact recorded by then arrives later. Facts
are append-only, so the number of facts recorded at or before ``known_at`` names the set: the
snapshot is used while that count (an index-only count on ``facts_recorded``) is the one it
was computed from, and recomputed and replaced otherwise (a late event, a rebuild under way).
The rules and the unit tree the figures were computed with are part of the key: a changed
configuration never reads an old snapshot.
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
    return f"{period}|{population}|{as_of}|{clocks.known_at.isoformat()}|{configuration}"


class Snapshots:
    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def seen(self, conn, known_at: datetime) -> int:
        return await conn.fetchval(f"SELECT count(*) FROM {self.schema}.facts WHERE recorded_at <= $1", known_at)

    async def get(self, conn, key: str, facts_seen: int) -> Figures | None:
        row = await conn.fetchrow(f"SELECT facts_seen, figures FROM {self.schema}.figure_snapshots WHERE key = $1", key)
        if row is None or row["facts_seen"] != facts_seen:
            return None
        return {(u, i): (n, d) for u, i, n, d in row["figures"]}

    async def put(self, conn, key: str, facts_seen: int, figures: Figures) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.figure_snapshots (key, facts_seen, figures) VALUES ($1, $2, $3) "
            "ON CONFLICT (key) DO UPDATE SET facts_seen = EXCLUDED.facts_seen, figures = EXCLUDED.figures",
            key, facts_seen, [[u, i, n, d] for (u, i), (n, d) in figures.items()],
        )
