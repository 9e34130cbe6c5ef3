"""定期通报 by the service itself: a loop that, on the service clock, publishes the rankings the
district's schedule (``[ranking_schedule]`` in indicators.toml) says are due and not yet out.
Publishing is the same command as the district's own POST /api/rankings, so the bottom unit
is ordered to rectify and the notifier tells every unit its place."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from assessment.adapters.change_feed import ChangeFeed
from assessment.domain import schedule
from assessment.domain.policy import Rules
from assessment.service_layer.commands import Commands
from platform_kit.clock import Clock
from platform_kit.problems import Refusal

log = logging.getLogger(__name__)


class RankingScheduler:
    def __init__(
        self, commands: Commands, rules: Rules, clock: Clock, interval_seconds: float, feed: ChangeFeed | None = None
    ) -> None:
        self.commands, self.rules, self.clock, self.interval_seconds = commands, rules, clock, interval_seconds
        self.feed = feed  # the scoreboard's readers wake on a decision, as after the HTTP route

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_seconds)

    async def tick(self) -> int:
        """Publish what is due; the number of events appended."""
        plan = self.rules.ranking_schedule
        appended = 0
        for period in schedule.due(plan.periods, plan.after_days, self.clock.now(), self.rules.assessment.years):
            for level in plan.levels:
                try:
                    events = await self.commands.publish_ranking(
                        period=period, level=level, parent=None, unless_published=True
                    )
                except Refusal as refused:  # nobody to rank yet: nothing to announce
                    log.info("scheduled ranking not published", extra={"period": str(period), "level": level,
                                                                       "reason": str(refused)})
                    continue
                appended += len(events)
                if events and self.feed is not None:
                    await self.feed.changed_here()
                if events:
                    log.info("scheduled ranking published", extra={"period": str(period), "level": level})
        return appended
