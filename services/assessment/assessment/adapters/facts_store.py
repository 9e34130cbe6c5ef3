"""Facts in PostgreSQL: written once, read by person (to move the live view) or by clocks
(to answer for any date)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime

import asyncpg

from assessment.domain.coverage import still_needed
from assessment.domain.facts import Fact, PenaltyFact, by_subject, links_of
from assessment.domain.periods import Clocks, Window

Conn = asyncpg.Connection | asyncpg.Pool
FACT_COLUMNS = ("subject", "event_id", "kind", "occurred_at", "recorded_at", "units", "data")


def _fact(row: asyncpg.Record) -> Fact:
    return Fact(
        row["subject"], row["event_id"], row["kind"], row["occurred_at"], row["recorded_at"], tuple(row["units"]),
        row["data"],
    )


class FactStore:
    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def of(
        self, conn: Conn, subjects: Iterable[uuid.UUID], before: datetime | None = None,
    ) -> dict[uuid.UUID, list[Fact]]:
        """Every stored fact of these people (an empty list for someone with none); with
        ``before``, only those that occurred before it."""
        wanted = list(set(subjects))
        rows = await conn.fetch(
            f"SELECT * FROM {self.schema}.facts WHERE subject = ANY($1::uuid[]) "
            "AND ($2::timestamptz IS NULL OR occurred_at < $2)",
            wanted, before,
        )
        found: dict[uuid.UUID, list[Fact]] = {subject: [] for subject in wanted}
        for row in rows:
            found[row["subject"]].append(_fact(row))
        return found

    async def neighbourhood(self, conn: Conn, new: Sequence[Fact]) -> dict[uuid.UUID, list[Fact]]:
        """The stored facts ``changes`` needs for these new ones."""
        known: dict[uuid.UUID, list[Fact]] = {}
        while missing := still_needed(new, known):
            known.update(await self.of(conn, missing))
        return known

    async def add(self, conn: asyncpg.Connection, facts: Sequence[Fact]) -> None:
        # ``data`` goes as it is: the jsonb codec only reads it (a copy per fact was a tenth of a replay's encoding).
        unique = {(f.subject, f.event_id): f for f in facts}
        await conn.copy_records_to_table(
            "facts", schema_name=self.schema, columns=FACT_COLUMNS,
            records=[(f.subject, f.event_id, f.kind, f.occurred_at, f.recorded_at, list(f.units), f.data)
                     for f in unique.values()],
        )

    async def add_penalties(self, conn: asyncpg.Connection, penalties: Sequence[PenaltyFact], *, bulk: bool = False) -> None:
        """``bulk``: into a table a rebuild emptied, where no event can be there already."""
        rows = [(p.event_id, p.rule, p.unit_code, p.occurred_at, p.recorded_at, p.points) for p in penalties]
        if bulk:
            unique = {r[0]: r for r in rows}
            await conn.copy_records_to_table(
                "penalty_facts", schema_name=self.schema,
                columns=("event_id", "rule", "unit_code", "occurred_at", "recorded_at", "points"), records=list(unique.values()),
            )
            return
        await conn.executemany(
            f"INSERT INTO {self.schema}.penalty_facts (event_id, rule, unit_code, occurred_at, recorded_at, points) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING",
            rows,
        )

    async def visible(self, conn: Conn, clocks: Clocks, before: datetime | None) -> dict[uuid.UUID, list[Fact]]:
        """Every fact the clocks see that occurred before ``before``, by person."""
        rows = await conn.fetch(
            f"SELECT * FROM {self.schema}.facts WHERE ($1::timestamptz IS NULL OR recorded_at <= $1) "
            "AND ($2::timestamptz IS NULL OR occurred_at < $2)",
            clocks.known_at, before,
        )
        return by_subject(_fact(row) for row in rows)

    async def in_chunks(
        self, conn: asyncpg.Connection, before: datetime | None, people: int = 5000,
    ) -> AsyncIterator[tuple[list[uuid.UUID], dict[uuid.UUID, list[Fact]]]]:
        """Every person with a fact that occurred before ``before``, ``people`` at a time in
        subject order, with what their figures read besides their own facts: the facts of the
        people they link to and of the people those link to (a returner's later identity names
        a spouse, a child's mother), all as ``visible`` gives them. A count of the whole view
        then holds one chunk, not every fact (a rebuild's end; ``visible`` at 5M events is GBs).
        Call in a transaction (the cursor lives in it)."""
        cursor = await conn.cursor(
            f"SELECT * FROM {self.schema}.facts WHERE ($1::timestamptz IS NULL OR occurred_at < $1) ORDER BY subject",
            before,
        )
        chunk: dict[uuid.UUID, list[Fact]] = {}
        while True:
            rows = await cursor.fetch(4 * people)
            for row in rows:
                chunk.setdefault(row["subject"], []).append(_fact(row))
            if rows and len(chunk) <= people:
                continue
            # The last person may go on in the next rows: held back unless the table is over.
            held = {} if not rows else {rows[-1]["subject"]: chunk.pop(rows[-1]["subject"])}
            if chunk:
                yield list(chunk), await self._with_links(conn, chunk, before)
            if not rows:
                return
            chunk = held

    async def _with_links(
        self, conn: Conn, facts: dict[uuid.UUID, list[Fact]], before: datetime | None,
    ) -> dict[uuid.UUID, list[Fact]]:
        """``facts`` and the facts (occurred before ``before``, if given) of the people they link
        to, two steps out: everything those people's timelines read."""
        known = dict(facts)
        reached = known
        for _ in range(2):  # two steps: as far as a person's timeline reads (people.timeline)
            linked = links_of(f for fs in reached.values() for f in fs) - set(known)
            if not linked:
                break
            reached = await self.of(conn, linked, before)
            known.update(reached)
        return known

    async def around(self, conn: Conn, units: Sequence[str], clocks: Clocks) -> dict[uuid.UUID, list[Fact]]:
        """The facts of everyone ever placed in these units, and of the people linked to them
        (a newborn who followed the mother there), as the clocks see them."""
        rows = await conn.fetch(
            f"SELECT DISTINCT subject FROM {self.schema}.facts WHERE units && $1::text[]", list(units)
        )
        people = await self._with_links(conn, await self.of(conn, [row["subject"] for row in rows]), None)
        return by_subject(
            f for facts in people.values() for f in facts if clocks.sees(f.occurred_at, f.recorded_at)
        )

    async def penalties(self, conn: Conn, window: Window | None, clocks: Clocks) -> list[PenaltyFact]:
        if window is None:
            return []
        rows = await conn.fetch(
            f"SELECT * FROM {self.schema}.penalty_facts WHERE occurred_at >= $1 AND occurred_at < $2 "
            "AND ($3::timestamptz IS NULL OR recorded_at <= $3)",
            window.start, window.end, clocks.known_at,
        )
        return [
            PenaltyFact(r["event_id"], r["rule"], r["unit_code"], r["occurred_at"], r["recorded_at"], r["points"])
            for r in rows
        ]

    async def latest_recorded(self, conn: Conn) -> datetime | None:
        return await conn.fetchval(f"SELECT max(recorded_at) FROM {self.schema}.facts")
