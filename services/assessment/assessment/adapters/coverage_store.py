"""The live coverage view in PostgreSQL, and the announcements of its changes
(CoverageChanged): the projection marks the cells it changed, the announcer publishes them,
many cells to one event."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime

import asyncpg

from assessment.domain.coverage import Cell, Figure, band, rate
from assessment.domain.decisions import SOURCE
from assessment.domain.periods import Period
from platform_kit.contract import catalogue
from platform_kit.contract.assessment import MOST_FIGURES
from platform_kit.envelope import Envelope
from platform_kit.event_store import EventStore

Conn = asyncpg.Connection | asyncpg.Pool
COVERAGE_CHANGED_VERSION = catalogue.current_version("CoverageChanged")


class CoverageStore:
    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def change(self, conn: asyncpg.Connection, delta: Mapping[Cell, Figure]) -> None:
        """Add ``delta`` to the view (a cell whose denominator falls to 0 goes) and mark its
        cells for the announcer. Call in a transaction holding the projection's lock."""
        if not delta:
            return
        # One statement and one parameter: the cells as one JSON text. Arrays (one per column)
        # cost asyncpg an isinstance check per element, a fifth of a batch's time with
        # thousands of cells; MERGE adds, drops and marks in one round trip (batches take turns
        # under the projection's lock, so no two of them insert the same new cell at once).
        cells = json.dumps([[u, i, str(p), n, d] for (u, i, p), (n, d) in delta.items()], separators=(",", ":"))
        await conn.execute(
            "WITH d AS (SELECT x->>0 AS u, x->>1 AS i, x->>2 AS p, (x->>3)::int AS n, (x->>4)::int AS d "
            "           FROM jsonb_array_elements($1::text::jsonb) AS x), "
            "     marked AS (INSERT INTO {s}.dirty_cells (unit_code, indicator, period) SELECT u, i, p FROM d) "
            "MERGE INTO {s}.coverage AS c USING d ON (c.period, c.unit_code, c.indicator) = (d.p, d.u, d.i) "
            "WHEN MATCHED AND c.denominator + d.d = 0 THEN DELETE "
            "WHEN MATCHED THEN UPDATE SET numerator = c.numerator + d.n, denominator = c.denominator + d.d "
            "WHEN NOT MATCHED AND d.d <> 0 THEN INSERT (unit_code, indicator, period, numerator, denominator) "
            "VALUES (d.u, d.i, d.p, d.n, d.d)".format(s=self.schema),
            cells,
        )

    async def of_periods(
        self, conn: Conn, periods: Iterable[Period], units: Iterable[str] | None = None
    ) -> dict[Period, dict[tuple[str, str], Figure]]:
        """period -> (unit, indicator) -> figure; absent cells are (0, 0)."""
        wanted = {str(p): p for p in periods}
        rows = await conn.fetch(
            f"SELECT period, unit_code, indicator, numerator, denominator FROM {self.schema}.coverage "
            "WHERE period = ANY($1::text[]) AND ($2::text[] IS NULL OR unit_code = ANY($2::text[]))",
            list(wanted), None if units is None else list(units),
        )
        found: dict[Period, dict[tuple[str, str], Figure]] = {p: {} for p in wanted.values()}
        for r in rows:
            found[wanted[r["period"]]][(r["unit_code"], r["indicator"])] = (r["numerator"], r["denominator"])
        return found

    async def of_periods_when_whole(
        self, pool: asyncpg.Pool, periods: Iterable[Period], units: Iterable[str] | None = None
    ) -> dict[Period, dict[tuple[str, str], Figure]] | None:
        """``of_periods``, or None while a rebuild replays (the view is not whole until its
        replay ends); both read in one snapshot, so never a view a rebuild has just emptied."""
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            if await conn.fetchval(f"SELECT 1 FROM {self.schema}.view_state WHERE key = 'replaying_until'"):
                return None
            return await self.of_periods(conn, periods, units)

    async def snapshot(self, conn: Conn) -> list[tuple[str, str, str, int, int]]:
        rows = await conn.fetch(f"SELECT unit_code, indicator, period, numerator, denominator FROM {self.schema}.coverage")
        return sorted(tuple(r) for r in rows)

    async def announce(
        self, conn: asyncpg.Connection, store: EventStore, rules, *, now: datetime, district: str,
        most: int = MOST_FIGURES,
    ) -> int | None:
        """One CoverageChanged listing every cell changed since the last call (up to ``most``
        marks) whose figure differs from what was last announced for it; returns how many
        events (0 or 1), or None when there was nothing to look at. Call inside a transaction."""
        # Projection transactions take turns, so the marks committed so far are exactly those
        # up to the highest one visible now; later ones belong to the next call.
        upto = await conn.fetchval(
            f"SELECT least(max(seq), min(seq) + $1 - 1) FROM {self.schema}.dirty_cells", most
        )
        if upto is None:
            return None
        rows = await conn.fetch(
            "WITH dirty AS (SELECT DISTINCT unit_code AS u, indicator AS i, period AS p FROM {s}.dirty_cells WHERE seq <= $1) "
            "SELECT t.u AS unit_code, t.i AS indicator, t.p AS period, coalesce(c.numerator, 0) AS numerator, "
            "coalesce(c.denominator, 0) AS denominator, a.numerator AS said_n, a.denominator AS said_d "
            "FROM dirty t "
            "LEFT JOIN {s}.coverage c ON (c.period, c.unit_code, c.indicator) = (t.p, t.u, t.i) "
            "LEFT JOIN {s}.announced a ON (a.period, a.unit_code, a.indicator) = (t.p, t.u, t.i) "
            "ORDER BY t.p, t.u, t.i".format(s=self.schema),
            upto,
        )
        await conn.execute(f"DELETE FROM {self.schema}.dirty_cells WHERE seq <= $1", upto)
        figures = []
        for r in rows:
            figure, said = (r["numerator"], r["denominator"]), (r["said_n"] or 0, r["said_d"] or 0)
            if figure == said or r["indicator"] not in rules.by_id:
                continue
            indicator = rules.by_id[r["indicator"]]
            n, d = figure
            r_ = rate(n, d)
            figures.append({
                "unit_code": r["unit_code"], "indicator": r["indicator"], "period": r["period"],
                "numerator": n, "denominator": d, "rate": None if r_ is None else round(r_, 4),
                "target": indicator.target, "band": band(n, d, indicator.target, rules.yellow_margin(indicator)),
            })
        if not figures:
            return 0
        # One event per announcement, on the district's one stream (replicas take turns, so
        # the version read here is still the last when it is appended).
        stream = f"coverage-{district}"
        version = (await conn.fetchval(
            f"SELECT max(stream_version) FROM {self.schema}.events WHERE stream_id = $1", stream
        ) or 0) + 1
        event = Envelope.new(
            event_type="CoverageChanged", schema_version=COVERAGE_CHANGED_VERSION, stream_id=stream,
            stream_version=version, unit_code=district, source=SOURCE, occurred_at=now, recorded_at=now,
            payload={"figures": figures},
        )
        await store.append([event], conn=conn)  # the relay publishes it
        await conn.execute(
            f"INSERT INTO {self.schema}.announced AS a (unit_code, indicator, period, numerator, denominator, version) "
            "SELECT u, i, p, n, d, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[]) AS t(u, i, p, n, d) "
            "ON CONFLICT (period, unit_code, indicator) DO UPDATE SET numerator = EXCLUDED.numerator, "
            "denominator = EXCLUDED.denominator, version = EXCLUDED.version",
            [f["unit_code"] for f in figures], [f["indicator"] for f in figures], [f["period"] for f in figures],
            [f["numerator"] for f in figures], [f["denominator"] for f in figures], version,
        )
        return 1
