"""Each person's contribution to the live coverage view (``tables.contributions``), a row per
person and live year, so a batch reads the people it touches as they count now and writes
only those whose cells it changed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby

import asyncpg

from assessment.domain.coverage import Contributions, Figures
from assessment.domain.periods import Period


def _text(cells: Iterable) -> str:
    return json.dumps([[u, i, str(p), n] for (u, i, p), (n, _) in cells], separators=(",", ":"))


def _year(item) -> int:
    return item[0][2].year


class ContributionStore:
    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def of(self, conn: asyncpg.Connection, people: Iterable[uuid.UUID], periods: Sequence[Period]) -> Contributions:
        """The stored contributions of these people (absent: they count nowhere)."""
        wanted = list(people)
        if not wanted:
            return {}
        rows = await conn.fetch(
            f"SELECT person, cells FROM {self.schema}.contributions WHERE person = ANY($1::uuid[])", wanted
        )
        # The live periods made once: a cell's period is one of them (rows exist for live years only).
        known = {str(p): p for p in periods}
        found: Contributions = {}
        for row in rows:
            mine = found.setdefault(row["person"], {})
            for u, i, p, n in json.loads(row["cells"]):
                mine[(u, i, known.get(p) or Period.parse(p))] = (n, 1)
        return found

    async def put(self, conn: asyncpg.Connection, now: Mapping[uuid.UUID, Figures]) -> None:
        """Replace these people's contributions (an empty one: they count nowhere now)."""
        if not now:
            return
        rows = [
            (person, year, _text(cells))
            for person, mine in now.items()
            for year, cells in groupby(sorted(mine.items(), key=_year), key=_year)
        ]
        await conn.execute(f"DELETE FROM {self.schema}.contributions WHERE person = ANY($1::uuid[])", list(now))
        if rows:
            await conn.copy_records_to_table(
                "contributions", schema_name=self.schema, columns=("person", "year", "cells"), records=rows
            )

    async def replace_year(self, conn: asyncpg.Connection, year: int, contributions: Contributions) -> None:
        """Every person's cells of ``year``, as computed from the stored facts when it joins the view."""
        await conn.execute(f"DELETE FROM {self.schema}.contributions WHERE year = $1", year)
        rows = [(person, year, _text(mine.items())) for person, mine in contributions.items() if mine]
        if rows:
            await conn.copy_records_to_table(
                "contributions", schema_name=self.schema, columns=("person", "year", "cells"), records=rows
            )
