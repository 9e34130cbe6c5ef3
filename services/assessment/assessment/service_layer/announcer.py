"""The announcer: every so often, one CoverageChanged on assessment.events listing each figure
that moved since it last looked (through the kit's store and relay). Coalescing keeps a busy
district's cells (the district total moves with every event) to one mention a tick, and the
whole tick to one event (up to 1000 figures; a bigger backlog goes in several).
Quiet while a rebuild replays history that was announced before. Runs as a loop the runtime
supervises; replicas take turns."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg

from assessment.adapters import decisions_store
from assessment.adapters.coverage_store import CoverageStore
from assessment.domain.policy import Rules
from platform_kit.clock import Clock
from platform_kit.database import apply_ddl
from platform_kit.event_store import EventStore
from platform_kit.units import unit_tree


class Announcer:
    def __init__(
        self, schema: str, rules: Rules, store: Callable[[], EventStore], interval_seconds: float, clock: Clock,
        district: str | None = None,
    ) -> None:
        self.schema = schema
        self.rules = rules
        self._store = store
        self.interval_seconds = interval_seconds
        self.clock = clock
        self.coverage = CoverageStore(schema)
        self.district = district or unit_tree().district.code  # the announcements' one stream
        self.announced = 0

    async def setup(self, pool: asyncpg.Pool) -> None:
        await apply_ddl(pool, self.schema, decisions_store.DDL)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.announce()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_seconds)

    async def announce(self) -> int:
        """Announce what changed; 0 while another replica is announcing or a rebuild replays."""
        total = 0
        while (count := await self._announce_some()) is not None:
            total += count
            await asyncio.sleep(0)  # a big backlog goes in slices; the projection runs between
        self.announced += total
        return total

    async def _announce_some(self) -> int | None:
        store = self._store()
        async with store.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", f"{self.schema}.announcer"):
                return None
            if await conn.fetchval(f"SELECT 1 FROM {self.schema}.view_state WHERE key = 'replaying_until'"):
                return None
            return await self.coverage.announce(conn, store, self.rules, now=self.clock.now(), district=self.district)
