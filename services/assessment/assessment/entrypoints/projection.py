"""The assessment's projection: registry and services-log events in, facts and the live
coverage view out (and the changed cells marked for the announcer), in the runner's one
transaction per batch."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from assessment.adapters import tables
from assessment.adapters.change_feed import view_channel
from assessment.adapters.coverage_store import CoverageStore
from assessment.adapters.facts_store import FactStore
from assessment.domain.policy import Rules
from assessment.domain.coverage import changes, compile_indicators, rolled_up, that_can_move
from assessment.domain.facts import PERSON_EVENT_TYPES, facts_of, penalty_of
from assessment.domain.periods import periods_of_years
from assessment.service_layer.live_years import LiveYears, projection_lock
from platform_kit.catalogue import EventCatalogue
from platform_kit.clock import SYSTEM_CLOCK, Clock
from platform_kit.envelope import Envelope
from platform_kit.projection import Projection
from platform_kit.units import UnitTree


class CoverageProjection(Projection):
    name = "coverage"

    def __init__(
        self, *, schema: str, topics: Sequence[str], rules: Rules, tree: UnitTree, catalogue: EventCatalogue,
        clock: Clock = SYSTEM_CLOCK, live: LiveYears | None = None,
    ) -> None:
        self.schema = schema
        self.clock = clock
        self.topics = list(topics)
        self.ddl = tables.DDL
        self.rules = rules
        # What it reads from its topics (the contract documents list these); others pass by.
        self.event_types = PERSON_EVENT_TYPES | rules.penalty_event_types | rules.marked_event_types
        self.tree = tree
        self.catalogue = catalogue
        # The years the view holds follow the clock; their periods are made once per set.
        self.live = live or LiveYears(schema, rules, tree, clock)
        self._periods: dict[frozenset[int], list] = {}
        self.indicators = compile_indicators(rules.indicators)
        self.facts = FactStore(schema)
        self.coverage = CoverageStore(schema)

    async def apply(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
        # A batch's change is computed from the people's facts as stored before it. Two
        # replicas applying facts about the same person at once would each compute from the
        # same "before" and add up wrongly; replicas therefore take turns.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", projection_lock(self.schema))
        replaying_until = await conn.fetchval(
            f"SELECT value FROM {self.schema}.view_state WHERE key = 'replaying_until'"
        )
        if replaying_until is not None:
            # A rebuild replays history: the facts go in, the live view is computed once at
            # the end (reads meanwhile are computed on request, see queries.Reads.figures).
            await self._record(conn, events, bulk=True)
            if max(e.recorded_at for e in events) > replaying_until:
                await self.replayed(conn)  # news: history is over (as far as this partition goes)
        else:
            years = await self.live.hold(conn)  # a new year joins the view before the batch moves it
            periods = self._periods.get(years) or self._periods.setdefault(years, periods_of_years(years))
            await self._record(conn, events, bulk=False, live_periods=periods)
        # Readers' cached scoreboards are stale either way (during a replay they are computed from the facts).
        await conn.execute("SELECT pg_notify($1, '')", view_channel(self.schema))

    async def _record(
        self, conn: asyncpg.Connection, events: Sequence[Envelope], *, bulk: bool, live_periods: list | None = None,
    ) -> None:
        """Store the batch's facts, penalties and stream marks; with ``live_periods``, move the
        live view by the facts first (the change is computed from the facts stored before them). ``bulk``: the tables were emptied by a rebuild, so rows are copied, not upserted."""
        facts, penalties, marked = [], [], []
        marks = await self._stream_marks(conn, events)
        for event in events:
            if event.event_type in PERSON_EVENT_TYPES:
                facts.extend(facts_of(event, self.catalogue.load(event)))
            if event.event_type in self.rules.penalty_event_types:
                penalty = penalty_of(event, self.rules, marks.get(event.stream_id, []))
                if penalty is not None:
                    penalties.append(penalty)
            if event.event_type in self.rules.marked_event_types:
                marks.setdefault(event.stream_id, []).append((event.event_type, event.payload))
                marked.append((event.stream_id, event.event_id, event.event_type, event.payload))
        if marked:  # one statement for the batch, not one round trip per event
            if bulk:
                await conn.copy_records_to_table(
                    "stream_marks", schema_name=self.schema, columns=("stream_id", "event_id", "event_type", "payload"),
                    records=list({(m[0], m[1]): m for m in marked}.values()),
                )
            else:
                await conn.executemany(
                    f"INSERT INTO {self.schema}.stream_marks (stream_id, event_id, event_type, payload) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    marked,
                )
        if penalties:
            await self.facts.add_penalties(conn, penalties, bulk=bulk)
        if facts and live_periods is not None:
            # Every fact is history (the as-of views read it); only those some indicator
            # reads are worth loading people and computing their figures for.
            moving = that_can_move(facts, self.indicators)
            if moving:
                known = await self.facts.neighbourhood(conn, moving)
                await self.coverage.change(conn, rolled_up(changes(known, moving, live_periods, self.indicators), self.tree))
        if facts:
            await self.facts.add(conn, facts)

    async def replayed(self, conn: asyncpg.Connection) -> None:
        """The end of a rebuild's replay (news arrived, or the runner reached the end offsets
        the rebuild began with): the live years computed once from every stored fact, with the
        code that adds a year to the view, and the announcer and reads let back onto it."""
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", projection_lock(self.schema))
        if await conn.fetchval(f"DELETE FROM {self.schema}.view_state WHERE key = 'replaying_until' RETURNING 1") is None:
            return  # over already (another replica, or the news before the end offsets)
        await self.live.recompute(conn, await self.live.held(conn) | self.live.wanted())
        await conn.execute("SELECT pg_notify($1, '')", view_channel(self.schema))

    async def _stream_marks(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> dict[str, list]:
        """The remembered earlier events of the streams of penalised events in this batch."""
        streams = list({e.stream_id for e in events if e.event_type in self.rules.penalty_event_types})
        if not streams or not self.rules.marked_event_types:
            return {}
        rows = await conn.fetch(
            f"SELECT stream_id, event_type, payload FROM {self.schema}.stream_marks WHERE stream_id = ANY($1::text[])",
            streams,
        )
        marks: dict[str, list] = {}
        for row in rows:
            marks.setdefault(row["stream_id"], []).append((row["event_type"], row["payload"]))
        return marks

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute(f"TRUNCATE {', '.join(f'{self.schema}.{t}' for t in tables.VIEW_TABLES)}")
        await conn.execute(
            f"INSERT INTO {self.schema}.view_state (key, value) VALUES ('replaying_until', $1) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            self.clock.now(),
        )
        await conn.execute("SELECT pg_notify($1, '')", view_channel(self.schema))
