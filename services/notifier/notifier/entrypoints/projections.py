"""The ``decisions`` projection: every registry, services and assessment event, through the
rules, into notifications and timers, in the same transaction as the kit's record of the
event (so each event is decided exactly once, even across crashes and redeliveries)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from platform_kit.catalogue import EventCatalogue
from platform_kit.clock import Clock
from platform_kit.envelope import Envelope
from platform_kit.projection import Projection
from platform_kit.topics import Topics
from platform_kit.units import UnitTree

from notifier.adapters import plans
from notifier.adapters.tables import DDL
from notifier.domain.facts import concerned_resident
from notifier.domain.planner import Planner
from notifier.domain.rulebook import Rulebook


class DecisionsProjection(Projection):
    name = "decisions"
    ddl = DDL

    def __init__(
        self, topics: Topics, schema: str, book: Rulebook, tree: UnitTree, clock: Clock, catalogue: EventCatalogue
    ) -> None:
        self.topics = [topics.registry_events, topics.services_events, topics.assessment_events]
        self.schema, self.book, self.tree, self.clock, self.catalogue = schema, book, tree, clock, catalogue
        # What the rules react to, and the registry's corrections (they make the facts it keeps of
        # a person right); the rest is skipped (and undocumented).
        self.event_types = book.event_types | {"ResidentRecordCorrected"}
        self.decided = 0  # notifications made, for the bench and the curious

    async def apply(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
        relevant = [e for e in events if e.event_type in self.event_types]
        if not relevant:
            return
        for event in relevant:
            if self.catalogue.knows(event.event_type):
                self.catalogue.load(event)  # a malformed payload is refused here (and dead-lettered)
        known = await plans.load_residents(conn, self.schema, filter(None, map(concerned_resident, relevant)))
        planner = Planner(self.book, self.tree, known)
        for event in relevant:
            planner.take(event)
        self.decided += await plans.write_plan(conn, self.schema, planner.result(), decided_at=self.clock.now())

    async def reset(self, conn: asyncpg.Connection) -> None:
        # Sent notifications stay: decided again, they get the same ids and are not sent twice.
        await conn.execute(f"DELETE FROM {self.schema}.residents")
        await conn.execute(f"DELETE FROM {self.schema}.timers WHERE state = 'pending'")
        await conn.execute(f"DELETE FROM {self.schema}.closings")
        await conn.execute(f"DELETE FROM {self.schema}.cancellations")
