"""Each person's contribution to the live coverage view (``tables.contributions``), so a
batch reads the people it touches as they count now and writes only those whose cells it
changed. Stored as JSON text: read back by one C-level parse into the domain's shape."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence

import asyncpg

from assessment.domain.coverage import Contribution, Contributions


def _text(mine: Contribution) -> str:
    return json.dumps(mine, separators=(",", ":"), ensure_ascii=False)


class ContributionStore:
    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def of(self, conn: asyncpg.Connection, people: Iterable[uuid.UUID]) -> Contributions:
        """The stored contributions of these people (absent: they count nowhere)."""
        wanted = list(people)
        if not wanted:
            return {}
        rows = await conn.fetch(
            f"SELECT person, cells FROM {self.schema}.contributions WHERE person = ANY($1::uuid[])", wanted
        )
        return {row["person"]: json.loads(row["cells"]) for row in rows}

    async def put(self, conn: asyncpg.Connection, now: Mapping[uuid.UUID, Contribution]) -> None:
        """Replace these people's contributions (an empty one: they count nowhere now)."""
        if not now:
            return
        await conn.execute(f"DELETE FROM {self.schema}.contributions WHERE person = ANY($1::uuid[])", list(now))
        rows = [(person, _text(mine)) for person, mine in now.items() if any(mine.values())]
        if rows:
            await conn.copy_records_to_table(
                "contributions", schema_name=self.schema, columns=("person", "cells"), records=rows
            )

    async def replace_periods(self, conn: asyncpg.Connection, periods: Sequence[str], everyone: Contributions) -> None:
        """Every person's cells of these periods replaced by ``everyone``'s (a year joining the
        view, computed from the stored facts); their other periods stay."""
        await conn.execute(
            f"UPDATE {self.schema}.contributions SET cells = (cells::jsonb - $1::text[])::text "
            "WHERE cells::jsonb ?| $1::text[]",
            list(periods),
        )
        rows = [(person, _text(mine)) for person, mine in everyone.items() if any(mine.values())]
        if rows:
            await conn.executemany(
                f"INSERT INTO {self.schema}.contributions AS c (person, cells) VALUES ($1, $2) "
                "ON CONFLICT (person) DO UPDATE SET cells = (c.cells::jsonb || EXCLUDED.cells::jsonb)::text",
                rows,
            )
        await conn.execute(f"DELETE FROM {self.schema}.contributions WHERE cells = '{{}}'")
