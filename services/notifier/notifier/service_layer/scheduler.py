"""The scheduler: timers whose business time has come, fired on the injected clock.

``caught_up_to`` is the clock reading up to which every due timer has been fired; a test
that moved the clock waits for it before asserting that something was *not* sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

import asyncpg

from platform_kit.clock import Clock
from platform_kit.logs import get_logger
from platform_kit.units import UnitTree

from notifier.adapters import plans
from notifier.domain.planner import Planner
from notifier.domain.rulebook import Rulebook

log = get_logger(__name__)


class Scheduler:
    def __init__(
        self, *, pool: asyncpg.Pool, schema: str, book: Rulebook, tree: UnitTree, clock: Clock,
        poll_seconds: float = 5.0, batch_size: int = 500,
    ) -> None:
        self.pool, self.schema, self.book, self.tree, self.clock = pool, schema, book, tree, clock
        self.poll_seconds, self.batch_size = poll_seconds, batch_size
        self.caught_up_to: datetime | None = None
        self.fired = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if await self.tick() < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)

    async def tick(self) -> int:
        """Fire one batch of due timers; returns how many."""
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            timers = await plans.due_timers(conn, self.schema, now, self.batch_size)
            if timers:
                known = await plans.load_residents(conn, self.schema, (t.resident_id for t in timers if t.resident_id))
                planner = Planner(self.book, self.tree, known)
                for timer in timers:
                    planner.take_due(timer, now)
                await plans.write_plan(conn, self.schema, planner.result(), decided_at=now)
        if timers:
            self.fired += len(timers)
            log.info("scheduler.fired", timers=len(timers), now=now.isoformat())
        if len(timers) < self.batch_size:
            self.caught_up_to = now
        return len(timers)
