"""The live coverage view in PostgreSQL, and the announcements of its changes
(CoverageChanged): the projection marks the cells it changed, the announcer publishes them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import asyncpg

from assessment.domain.coverage import Cell, Figure, band, rate
from assessment.domain.decisions import SOURCE
from assessment.domain.periods import Period
from platform_kit.envelope import Envelope
from platform_kit.event_store import EventStore

Conn = asyncpg.Connection | asyncpg.Pool


class CoverageStore:
    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def change(self, conn: asyncpg.Connection, delta: Mapping[Cell, Figure]) -> None:
        if not delta:
            return
        cells = list(delta.items())
        columns = (
            [u for (u, _, _), _ in cells], [i for (_, i, _), _ in cells], [str(p) for (_, _, p), _ in cells],
            [n for _, (n, _) in cells], [d for _, (_, d) in cells],
        )
        await conn.execute(
            f"INSERT INTO {self.schema}.coverage AS c (unit_code, indicator, period, numerator, denominator) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[]) "
            "ON CONFLICT (period, unit_code, indicator) DO UPDATE "
            "SET numerator = c.numerator + EXCLUDED.numerator, denominator = c.denominator + EXCLUDED.denominator",
            *columns,
        )
        await conn.execute(
            f"DELETE FROM {self.schema}.coverage c USING unnest($1::text[], $2::text[], $3::text[]) AS t(u, i, p) "
            "WHERE c.period = t.p AND c.unit_code = t.u AND c.indicator = t.i AND c.denominator = 0",
            *columns[:3],
        )
        await conn.execute(
            f"INSERT INTO {self.schema}.dirty_cells (unit_code, indicator, period) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[])",
            *columns[:3],
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

    async def snapshot(self, conn: Conn) -> list[tuple[str, str, str, int, int]]:
        rows = await conn.fetch(f"SELECT unit_code, indicator, period, numerator, denominator FROM {self.schema}.coverage")
        return sorted(tuple(r) for r in rows)

    async def announce(
        self, conn: asyncpg.Connection, store: EventStore, rules, *, now: datetime, most: int = 500
    ) -> int | None:
        """A CoverageChanged for every cell changed since the last call (up to ``most`` marks)
        whose figure differs from what was last announced for it; returns how many, or None
        when there was nothing to look at. Call inside a transaction."""
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
            "coalesce(c.denominator, 0) AS denominator, a.numerator AS said_n, a.denominator AS said_d, a.version "
            "FROM dirty t "
            "LEFT JOIN {s}.coverage c ON (c.period, c.unit_code, c.indicator) = (t.p, t.u, t.i) "
            "LEFT JOIN {s}.announced a ON (a.period, a.unit_code, a.indicator) = (t.p, t.u, t.i)".format(s=self.schema),
            upto,
        )
        await conn.execute(f"DELETE FROM {self.schema}.dirty_cells WHERE seq <= $1", upto)
        events = []
        for r in rows:
            figure, said = (r["numerator"], r["denominator"]), (r["said_n"] or 0, r["said_d"] or 0)
            if figure == said or r["indicator"] not in rules.by_id:
                continue
            indicator = rules.by_id[r["indicator"]]
            n, d = figure
            stream = f"coverage-{r['unit_code']}-{r['indicator']}-{r['period']}"
            r_ = rate(n, d)
            events.append(
                Envelope.new(
                    event_type="CoverageChanged", stream_id=stream, stream_version=(r["version"] or 0) + 1,
                    unit_code=r["unit_code"], source=SOURCE, occurred_at=now, recorded_at=now,
                    payload={
                        "unit_code": r["unit_code"], "indicator": r["indicator"], "period": r["period"],
                        "numerator": n, "denominator": d, "rate": None if r_ is None else round(r_, 4),
                        "target": indicator.target, "band": band(n, d, indicator.target, rules.yellow_margin(indicator)),
                    },
                )
            )
        if not events:
            return 0
        await store.append(events, conn=conn)  # the relay publishes them
        await conn.execute(
            f"INSERT INTO {self.schema}.announced AS a (unit_code, indicator, period, numerator, denominator, version) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[]) "
            "ON CONFLICT (period, unit_code, indicator) DO UPDATE SET numerator = EXCLUDED.numerator, "
            "denominator = EXCLUDED.denominator, version = EXCLUDED.version",
            [e.payload["unit_code"] for e in events], [e.payload["indicator"] for e in events],
            [e.payload["period"] for e in events], [e.payload["numerator"] for e in events],
            [e.payload["denominator"] for e in events], [e.stream_version for e in events],
        )
        return len(events)
