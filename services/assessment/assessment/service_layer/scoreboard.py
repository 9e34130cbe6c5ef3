"""The scoreboard: each unit's score (weighted attainment minus penalties, the veto), ranked
towns among towns and villages within their town, with last period's ranks, the flags and
the rectification orders; for any period and any pair of clocks."""

from __future__ import annotations

from assessment.adapters import decisions_store
from assessment.domain.decisions import Decisions, rewarded
from assessment.domain.periods import Clocks, Period, previous
from assessment.domain.scoring import PenaltyBook, Ranked, earlier_ranks, penalty_book, ranked, unit_score
from assessment.service_layer.queries import PeriodFigures, Reads
from assessment.domain.units_en import english_name
from platform_kit.problems import NotFound
from platform_kit.units import Unit


class Scoreboards:
    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    def groups(self, level: str, parent: str | None, *, field: str = "query.parent") -> list[tuple[Unit | None, list[Unit]]]:
        """The units ranked together; ``field`` is where the request named ``parent``."""
        if level == "town":
            return [(None, self.reads.tree.towns())]
        if parent is not None:
            if parent not in self.reads.tree or self.reads.tree[parent].level != "town":
                raise NotFound(field, f"{parent!r} is not a town or street of {self.reads.tree.district.name}")
            town = self.reads.tree[parent]
            return [(town, self.reads.tree.children(parent))]
        return [(town, self.reads.tree.children(town.code)) for town in self.reads.tree.towns()]

    async def ranking(
        self, period: Period, level: str, parent: str | None, clocks: Clocks, decisions: Decisions | None = None,
        *, field: str = "query.parent", sources: dict[Period, str] | None = None,
    ) -> list[tuple[Unit | None, list[Ranked], dict[str, int] | None]]:
        """Per group: the ranked rows, and last period's ranks (None when it had nobody to count).
        ``sources``: as ``Reads.figures`` tells it."""
        groups = self.groups(level, parent, field=field)
        before = previous(period)
        units = [u.code for _, group in groups for u in group]
        figures = await self.reads.figures([period, before], clocks, units=units, sources=sources)
        if decisions is None:
            decisions = await decisions_store.decisions(self.reads.pool, self.reads.schema, clocks)
        books = {p: await self._penalties(p, clocks) for p in (period, before)}
        out = []
        for town, group in groups:
            rows = ranked(self._scores(group, period, figures[period], books[period], decisions), self.reads.rules.rectification.bottom_count)
            earlier = None
            if any(figures[before].get((u.code, i.id), (0, 0))[1] for u in group for i in self.reads.rules.indicators):
                old = ranked(self._scores(group, before, figures[before], books[before], decisions))
                earlier = earlier_ranks(old)
            out.append((town, rows, earlier))
        return out

    async def _penalties(self, period: Period, clocks: Clocks) -> PenaltyBook:
        window = clocks.window(period)
        return penalty_book(await self.reads.facts.penalties(self.reads.pool, window, clocks), window, clocks, self.reads.tree, self.reads.rules)

    def _scores(self, units, period: Period, figures: PeriodFigures, book: PenaltyBook, decisions: Decisions):
        containing = self.reads.rules.veto.applies_to_containing_periods
        return [
            unit_score(
                u.code, {i.id: figures.get((u.code, i.id), (0, 0)) for i in self.reads.rules.indicators}, self.reads.rules,
                book.of(u.code), decisions.veto_for(u.code, period, containing=containing) is not None,
            )
            for u in units
        ]

    async def scoreboard(self, period: Period, level: str, parent: str | None, clocks: Clocks) -> dict:
        decisions = await decisions_store.decisions(self.reads.pool, self.reads.schema, clocks)
        sources: dict[Period, str] = {}
        groups = await self.ranking(period, level, parent, clocks, decisions, sources=sources)
        top = self.reads.rules.reward.top_count
        rows = [
            self._row_json(row, town, earlier, period, decisions, rewarded(ranked_rows, top))
            for town, ranked_rows, earlier in groups for row in ranked_rows
        ]
        return {
            "period": str(period), "level": level, "parent": parent, **clocks.as_json(),
            "source": sources[period], "indicators": self.reads.indicators_json(), "rows": rows,
        }

    def _row_json(
        self, row: Ranked, town: Unit | None, earlier: dict[str, int] | None, period: Period, decisions: Decisions,
        rewards: set[str] = frozenset(),
    ) -> dict:
        s = row.unit
        unit = self.reads.tree[s.unit_code]
        veto = decisions.veto_for(s.unit_code, period, containing=self.reads.rules.veto.applies_to_containing_periods)
        rectification = decisions.rectification(s.unit_code, str(period))
        flags = [
            flag for flag, on in (
                ("veto", s.veto), ("reward", s.unit_code in rewards), ("bottom", row.bottom), ("not_assessed", not s.assessed), ("penalty", s.penalty > 0),
                ("rectification_required", rectification is not None and rectification.is_open),
                ("rectification_plan_submitted", rectification is not None and not rectification.is_open),
            ) if on
        ]
        previous_rank = None if earlier is None else earlier.get(s.unit_code)
        return {
            "rank": row.rank, "previous_rank": previous_rank,
            "rank_change": None if previous_rank is None or row.rank is None else previous_rank - row.rank,
            "unit_code": s.unit_code, "unit_name": unit.name, "unit_name_en": english_name(unit.name),
            "parent_code": town.code if town else None, "parent_name": town.name if town else None,
            "score": s.score, "attainment": s.attainment, "penalty": s.penalty, "penalties": s.penalties,
            "veto": s.veto, "veto_reason": veto.reason if veto else None, "flags": flags,
            "rectification": rectification.as_json() if rectification else None,
            "indicators": {i: f.as_json() for i, f in s.figures.items()},
        }
