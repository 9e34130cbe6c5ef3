"""The district centre's commands: apply a one-vote veto, publish a ranking (which orders the
bottom units to rectify), record a rectification plan. Each loads the decisions so far,
decides, and appends; a concurrent writer makes the store refuse, and we decide again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg

from assessment.adapters import decisions_store
from assessment.domain import decisions as decide
from assessment.domain.decisions import Decisions
from assessment.domain.periods import Clocks, Period
from assessment.service_layer.scoreboard import Scoreboards
from platform_kit.clock import SYSTEM_CLOCK, Clock
from platform_kit.envelope import Envelope
from platform_kit.event_store import ConcurrencyConflict, EventStore
from platform_kit.problems import Conflict

ATTEMPTS = 5


class Commands:
    def __init__(self, store: Callable[[], EventStore], scoreboards: Scoreboards, clock: Clock = SYSTEM_CLOCK) -> None:
        self._store = store
        self.scoreboards = scoreboards
        self.clock = clock

    async def _decide_and_append(self, decide_from: Callable[[Decisions], Awaitable[list[Envelope]]]) -> list[Envelope]:
        for _ in range(ATTEMPTS):
            store = self._store()
            decisions = await decisions_store.decisions(store.pool, store.schema)
            events = await decide_from(decisions)
            try:
                await store.append(events)
                return events
            except (ConcurrencyConflict, asyncpg.UniqueViolationError):
                continue
        raise Conflict("stream_version", "changed meanwhile by other decisions, again and again; try again")

    async def apply_veto(
        self, *, unit_code: str, period: Period, reason: str, decided_by: str, occurred_at: datetime | None
    ) -> Envelope:
        async def decide_from(decisions: Decisions) -> list[Envelope]:
            return [
                decide.decide_veto(
                    decisions, unit_code=unit_code, period=period, reason=reason, decided_by=decided_by,
                    tree=self.scoreboards.reads.tree, now=self.clock.now(), occurred_at=occurred_at,
                )
            ]

        return (await self._decide_and_append(decide_from))[0]

    async def publish_ranking(self, *, period: Period, level: str, parent: str | None) -> list[Envelope]:
        """The ranking as it stands now; for villages without a parent, one per town."""

        async def decide_from(decisions: Decisions) -> list[Envelope]:
            events: list[Envelope] = []
            groups = await self.scoreboards.ranking(period, level, parent, Clocks(), field="parent")
            if parent is None and level == "village":
                # One ranking per town that has anyone to rank; a town whose villages are all
                # not assessed publishes none (refused only when no town has anyone).
                groups = [g for g in groups if any(r.rank is not None for r in g[1])] or groups[:1]
            for town, rows, _ in groups:
                events += decide.decide_publication(
                    decisions, rows, period=period, level=level, parent=town.code if town else None,
                    district_code=self.scoreboards.reads.tree.district.code, now=self.clock.now(),
                    plan_due_days=self.scoreboards.reads.rules.rectification.plan_due_days,
                )
            return events

        return await self._decide_and_append(decide_from)

    async def submit_plan(self, *, unit_code: str, period: Period, summary: str) -> Envelope:
        self.scoreboards.reads.unit(unit_code, field="unit_code")

        async def decide_from(decisions: Decisions) -> list[Envelope]:
            return [decide.decide_plan(decisions, unit_code=unit_code, period=period, summary=summary, now=self.clock.now())]

        return (await self._decide_and_append(decide_from))[0]

    async def rectifications(self, period: Period | None) -> list[dict]:
        store = self._store()
        decisions = await decisions_store.decisions(store.pool, store.schema)
        return [
            r.as_json() for r in sorted(decisions.rectifications.values(), key=lambda r: (r.period, r.unit_code))
            if period is None or r.period == str(period)
        ]
