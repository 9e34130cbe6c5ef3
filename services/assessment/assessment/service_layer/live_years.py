"""The live view follows the calendar: it holds the configured years, the current year and the
one before it on the service's clock. A year's periods join the view once, computed from the
stored facts in the projection's transaction turn; from then on the projection keeps them
incrementally. A year never leaves: facts occurring now cannot change a past year's figures,
so holding it costs almost nothing, and no replica ever reads a year another one dropped.

The projection calls ``hold`` in every batch (so a new year is live from its first event);
the loop calls ``refresh`` every few seconds (so it is live on a quiet 1 January too) and is
what tells the queries which years they may read live."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

import asyncpg

from assessment.adapters import tables
from assessment.adapters.coverage_store import CoverageStore
from assessment.adapters.facts_store import FactStore
from assessment.domain.coverage import Figures, add, compile_indicators, from_scratch, rolled_up
from assessment.domain.periods import Period, live_years, periods_of_year
from assessment.domain.policy import Rules
from platform_kit.calendar import local_date
from platform_kit.clock import Clock
from platform_kit.database import apply_ddl
from platform_kit.units import UnitTree


def projection_lock(schema: str) -> str:
    """The advisory lock the coverage projection's batches take turns on."""
    return f"{schema}.coverage"


class LiveYears:
    def __init__(
        self, schema: str, rules: Rules, tree: UnitTree, clock: Clock,
        pool: Callable[[], asyncpg.Pool] | None = None, interval_seconds: float = 5.0, chunk_people: int = 5000,
    ) -> None:
        self.schema, self.rules, self.tree, self.clock = schema, rules, tree, clock
        self._pool, self.interval_seconds = pool, interval_seconds
        self.chunk_people = chunk_people  # people counted at a time: bounds the memory of a recompute
        self.facts, self.coverage = FactStore(schema), CoverageStore(schema)
        self.indicators = compile_indicators(rules.indicators)
        self.years: frozenset[int] = frozenset()  # held and committed: what queries may read live

    def wanted(self) -> frozenset[int]:
        a = self.rules.assessment
        return live_years(a.years, local_date(self.clock.now()), a.recent_years)

    async def hold(self, conn: asyncpg.Connection) -> frozenset[int]:
        """The years the view holds, after adding the wanted ones it lacked. Call in a
        transaction holding the projection's lock."""
        held = await self.held(conn)
        if missing := self.wanted() - held:
            await self.recompute(conn, missing)
        return held | missing

    async def setup(self, pool: asyncpg.Pool) -> None:
        await apply_ddl(pool, self.schema, tables.DDL)

    async def refresh(self) -> frozenset[int]:
        pool = self._pool()
        held = await self.held(pool)
        if not self.wanted() <= held:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", projection_lock(self.schema))
                held = await self.hold(conn)
        self.years = held  # only now committed
        return held

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.refresh()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_seconds)

    async def held(self, conn: asyncpg.Connection | asyncpg.Pool) -> frozenset[int]:
        return frozenset(r["year"] for r in await conn.fetch(f"SELECT year FROM {self.schema}.live_years"))

    async def count(self, conn: asyncpg.Connection, periods: list[Period], before: datetime) -> Figures:
        """``from_scratch`` over every fact that occurred before ``before``, a chunk of people
        at a time (each with the facts of the people they link to): the same figures, from a
        chunk's memory instead of every fact's."""
        figures: Figures = {}
        async for people, facts in self.facts.in_chunks(conn, before, self.chunk_people):
            add(figures, from_scratch(facts, periods, self.indicators, people))
        return figures

    async def recompute(self, conn: asyncpg.Connection, years: frozenset[int]) -> None:
        """These years' cells of the view computed from every stored fact, replacing whatever
        was there (cells of a view from before the years were recorded, or a rebuild's
        unfinished view), and the years held from now on. Call holding the projection's lock."""
        if not years:
            return
        periods = [p for year in sorted(years) for p in periods_of_year(year)]
        figures = await self.count(conn, periods, Period(max(years)).end)
        await conn.execute(
            f"DELETE FROM {self.schema}.coverage WHERE period = ANY($1::text[])", [str(p) for p in periods]
        )
        await self.coverage.change(conn, rolled_up(figures, self.tree))
        await conn.execute(
            f"INSERT INTO {self.schema}.live_years (year) SELECT unnest($1::int[]) ON CONFLICT DO NOTHING", sorted(years)
        )
