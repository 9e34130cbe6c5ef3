"""Scores and rankings. A unit's score is its weighted attainment of the indicators' targets
(0-100) minus its penalty points; a one-vote veto puts it last whatever its score. Towns are
ranked among towns, villages within their town; the bottom rank(s) of a group are flagged."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from assessment.domain.coverage import Figure, band, rate
from assessment.domain.facts import PenaltyFact
from assessment.domain.periods import Clocks, Window


@dataclass(frozen=True, slots=True)
class IndicatorFigure:
    numerator: int
    denominator: int
    target: float
    band: str

    @property
    def rate(self) -> float | None:
        return rate(self.numerator, self.denominator)

    @property
    def gap(self) -> float | None:
        """How far the rate falls short of the target (negative: above it)."""
        r = self.rate
        return None if r is None else round(self.target - r, 4)

    @property
    def shortfall(self) -> int:
        """How many more people would have to be served to reach the target."""
        return max(0, math.ceil(self.target * self.denominator - 1e-9) - self.numerator)

    @property
    def attainment(self) -> float | None:
        r = self.rate
        if r is None:
            return None
        return 1.0 if self.target == 0 else min(1.0, r / self.target)

    def as_json(self) -> dict:
        r = self.rate
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "rate": None if r is None else round(r, 4),
            "target": self.target,
            "gap": self.gap,
            "shortfall": self.shortfall,
            "band": self.band,
        }


def indicator_figure(figure: Figure, indicator, rules) -> IndicatorFigure:
    n, d = figure
    return IndicatorFigure(n, d, indicator.target, band(n, d, indicator.target, rules.yellow_margin(indicator)))


def equalisation_gap(migrant_rate: float | None, registered_rate: float | None) -> float | None:
    """The difference of two rates in percentage points: 均等化差距, migrant − registered
    (negative: migrants lag), or a year's change over the year before; none when either has
    nobody to count."""
    if migrant_rate is None or registered_rate is None:
        return None
    return round((migrant_rate - registered_rate) * 100, 2)


@dataclass(frozen=True, slots=True)
class UnitScore:
    unit_code: str
    figures: dict[str, IndicatorFigure]
    attainment: float | None  # None: nobody to count in any indicator
    penalties: dict[str, float]
    veto: bool
    penalty: float = field(init=False)
    score: float | None = field(init=False)  # attainment - penalty; None when not assessed
    assessed: bool = field(init=False)  # anyone to count in any indicator

    def __post_init__(self) -> None:
        penalty = round(sum(self.penalties.values()), 2)
        object.__setattr__(self, "penalty", penalty)
        object.__setattr__(self, "score", None if self.attainment is None else round(self.attainment - penalty, 2))
        object.__setattr__(self, "assessed", self.attainment is not None)

    @property
    def in_contention(self) -> bool:
        """Ranked: assessed, or vetoed (a veto sinks a unit even with nobody to count)."""
        return self.assessed or self.veto


def unit_score(
    unit_code: str, figures: Mapping[str, Figure], rules, penalties: Mapping[str, float], veto: bool
) -> UnitScore:
    """Weighted attainment over the indicators that have someone to count. A unit with
    nobody to count in any indicator is not assessed: no attainment and no score (not 100,
    which would read as a perfect unit in the API and the export)."""
    shown = {i.id: indicator_figure(figures.get(i.id, (0, 0)), i, rules) for i in rules.indicators}
    weighed = [(i.weight, shown[i.id].attainment) for i in rules.indicators if shown[i.id].attainment is not None]
    total = sum(w for w, _ in weighed)
    attainment = round(100 * sum(w * a for w, a in weighed) / total, 2) if total else None
    return UnitScore(unit_code, shown, attainment, dict(penalties), veto)


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int | None  # None: not assessed, listed apart after the ranked units
    unit: UnitScore
    bottom: bool


def ranked(scores: Sequence[UnitScore], bottom_count: int = 1) -> list[Ranked]:
    """The units in contention, ranked: assessed units by score, vetoed units last whatever
    their score; equal scores share a rank (1, 2, 2, 4). Then, listed apart and without a
    rank, the units with nobody to count in any indicator (not assessed): they have no score,
    so they can stand neither above nor below a unit that has one. The bottom is the
    ``bottom_count``-th rank from the end, in groups of two or more in contention."""
    contending = sorted((s for s in scores if s.in_contention), key=lambda s: (s.veto, s.score is None, -(s.score or 0), s.unit_code))
    apart = sorted((s for s in scores if not s.in_contention), key=lambda s: s.unit_code)
    ranks: list[int] = []
    for i, unit in enumerate(contending):
        before = contending[i - 1] if i else None
        same = before is not None and (before.veto, before.score) == (unit.veto, unit.score)
        ranks.append(ranks[-1] if same else i + 1)
    threshold = ranks[-bottom_count] if len(ranks) >= 2 and bottom_count <= len(ranks) else None
    return [
        *(Ranked(rank, unit, threshold is not None and rank >= threshold) for rank, unit in zip(ranks, contending, strict=True)),
        *(Ranked(None, unit, False) for unit in apart),
    ]


def earlier_ranks(old: Sequence[Ranked]) -> dict[str, int]:
    """Last period's ranks of the units that were in contention then (assessed or vetoed). A
    unit not assessed then has no earlier rank: its first assessed period shows no change
    (null), not a rise or a drop."""
    return {r.unit.unit_code: r.rank for r in old if r.rank is not None}


@dataclass
class PenaltyBook:
    """Penalty points per unit and rule for one window, rolled up to towns and the district
    and capped per rule."""

    points: dict[str, dict[str, float]] = field(default_factory=dict)

    def of(self, unit_code: str) -> dict[str, float]:
        return self.points.get(unit_code, {})


def penalty_book(facts: Iterable[PenaltyFact], window: Window | None, clocks: Clocks, tree, rules) -> PenaltyBook:
    caps = {p.id: p.cap for p in rules.penalties}
    book = PenaltyBook()
    if window is None:
        return book
    for f in facts:
        if f.occurred_at not in window or not clocks.sees(f.occurred_at, f.recorded_at):
            continue
        units = [f.unit_code] + ([a.code for a in tree.ancestors(f.unit_code)] if f.unit_code in tree else [])
        for unit in units:
            rules_points = book.points.setdefault(unit, {})
            rules_points[f.rule] = rules_points.get(f.rule, 0.0) + f.points
    for rules_points in book.points.values():
        for rule, points in rules_points.items():
            cap = caps.get(rule)
            rules_points[rule] = round(min(points, cap) if cap else points, 2)
    return book
