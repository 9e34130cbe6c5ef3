"""Coverage: who counts where, per indicator and period, and how the view moves when facts
arrive.

A *figure* is (numerator, denominator) for one cell (unit, indicator, period). Each person
adds 0 or 1 to the cells of the unit responsible for them (see ``people``); towns and the
district add up their villages (``rolled_up``). The live view is kept incrementally:
``changes`` recomputes only the people a batch of facts can affect, before and after, and
returns the difference, which equals recomputing everything from scratch (the property test
checks it on random histories).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from assessment.domain.facts import CORRECTED, SERVICE, SURVEY, Fact, by_subject, links_of
from assessment.domain.people import Facts, Timeline, standing, timeline
from assessment.domain.periods import Clocks, Period, Window
from assessment.domain.rules import Rule, Span, compiled, kinds_read, possible, reached

Cell = tuple[str, str, Period]  # unit code, indicator id, period
Figure = tuple[int, int]  # numerator, denominator
Figures = dict[Cell, Figure]


class IndicatorLike(Protocol):
    id: str
    denominator: str
    numerator: str


class UnitTreeLike(Protocol):
    def __contains__(self, code: object) -> bool: ...
    def ancestors(self, code: str) -> list: ...


Possible = Callable[[Timeline, Span], bool]
POPULATIONS = ("migrant", "registered")  # 流动人口, 户籍人口: the registry's `population`


@dataclass(frozen=True, slots=True)
class Compiled:
    id: str
    denominator: Rule
    numerator: Rule
    population: str = "migrant"  # whom the indicator counts: the same rules serve both populations
    services: frozenset[str] = frozenset()  # the service kinds its rules read
    surveys: frozenset[str] = frozenset()  # the survey kinds its rules read
    # A test of a whole timeline and span: False when the rule says no in every window of the
    # span (``rules.POSSIBLE``); None: ask the rule.
    can_count: Possible | None = None
    can_serve: Possible | None = None


def compile_indicators(indicators: Iterable[IndicatorLike], population: str = "migrant") -> tuple[Compiled, ...]:
    """The indicators' rules, counting ``population`` (equalisation compares the two)."""
    if population not in POPULATIONS:
        raise ValueError(f"population: {population!r} is not one of {', '.join(POPULATIONS)}")
    out = []
    for i in indicators:
        (s1, q1), (s2, q2) = kinds_read(i.denominator), kinds_read(i.numerator)
        out.append(Compiled(
            i.id, compiled("denominator", i.denominator), compiled("numerator", i.numerator), population,
            s1 | s2, q1 | q2, possible("denominator", i.denominator), possible("numerator", i.numerator),
        ))
    return tuple(out)


def that_can_move(new: Sequence[Fact], indicators: Sequence[Compiled]) -> list[Fact]:
    """``new`` without the services and survey answers of kinds no indicator reads: they change
    no figure (a leaflet handed out, when nothing counts leaflets), so the projection stores them
    and computes nothing for them. A service some correction in ``new`` names stays (it may be
    corrected into a kind that is read; a correction follows its service on the service's
    stream, so one never arrives before it)."""
    services = frozenset().union(*(i.services for i in indicators))
    surveys = frozenset().union(*(i.surveys for i in indicators))
    corrected = {f.data.get("corrects") for f in new if f.kind == CORRECTED}
    return [
        f for f in new
        if not (
            (f.kind == SERVICE and f.data.get("service_kind") not in services and str(f.event_id) not in corrected)
            or (f.kind == SURVEY and f.data.get("survey_kind") not in surveys)
        )
    ]


@dataclass(frozen=True, slots=True)
class Counted:
    """One person in one indicator's denominator, and why."""

    person: uuid.UUID
    unit: str
    indicator: str
    served: bool
    denominator_events: tuple[uuid.UUID, ...]
    numerator_events: tuple[uuid.UUID, ...]


def counted_in(line: Timeline, window: Window, indicators: Sequence[Compiled]) -> list[Counted]:
    st = standing(line, window)
    if st is None or st.profile is None:
        return []
    found = []
    for indicator in indicators:
        if st.profile.population != indicator.population:
            continue
        counted, because = indicator.denominator(line, st, window)
        if counted:
            served, by = indicator.numerator(line, st, window)
            found.append(Counted(line.person, st.unit, indicator.id, served, because, by if served else ()))
    return found


Windows = tuple[list[tuple[Period, Window]], Span | None]  # and the span they cover (None: no window)
Rules = list[tuple[str, str, Rule, Rule, Possible | None, Possible | None]]
# Figures as they are summed: period -> (unit, indicator) -> [numerator, denominator]. A
# ``Period`` hashes in Python (a call per lookup): keyed by it once per person and period,
# not once per cell, a third of the counting's time went.
Tally = dict[Period, dict[tuple[str, str], list[int]]]


def _windows(periods: Sequence[Period]) -> Windows:
    windows = [(period, Window(period.start, period.end)) for period in periods]
    return windows, (min(p.start for p in periods), max(p.end for p in periods)) if periods else None


def _rules(indicators: Sequence[Compiled]) -> Rules:
    return [(i.id, i.population, i.denominator, i.numerator, i.can_count, i.can_serve) for i in indicators]


def _count(line: Timeline, windows: Windows, rules: Rules, into: Tally, sign: int = 1) -> None:
    """Add ``sign`` times what the person of ``line`` adds to the view to ``into``: 1 to the
    denominator (and maybe the numerator) of each cell they count in, with the windows and
    rules made once by the caller."""
    windows, span = windows
    if not line.stays or span is None:
        return
    # The span of every stay: a period outside it has no standing, and needs none asked (a
    # person who came this year is not looked for in last year's seventeen periods).
    first = min(stay.start for stay in line.stays)
    last = None if any(stay.end is None for stay in line.stays) else max(stay.end for stay in line.stays)
    # The indicators whose denominator can count this person in the span, asked once, in order,
    # and their numerator, or None where it can say yes in no window.
    rules = [
        (id_, counts, d, n if can_serve is None or can_serve(line, span) else None)
        for id_, counts, d, n, can_count, can_serve in rules if can_count is None or can_count(line, span)
    ]
    # ``counted_in`` without its ``Counted`` records: this is the projection's inner loop, and
    # only the figures are kept (the same rules, asked in the same order).
    memo: dict = {}
    for period, window in windows:
        if window.end <= first or (last is not None and last <= window.start):
            continue
        st = standing(line, window, memo)
        if st is None or st.profile is None:
            continue
        population, unit = st.profile.population, st.unit
        cells = None
        for id_, counts, denominator, numerator in rules:
            if population == counts and denominator(line, st, window)[0]:
                if cells is None:
                    cells = into.get(period)
                    if cells is None:
                        cells = into[period] = {}
                n = sign if numerator is not None and numerator(line, st, window)[0] else 0
                total = cells.get((unit, id_))
                if total is None:
                    cells[(unit, id_)] = [n, sign]
                else:
                    total[0] += n
                    total[1] += sign


def _figures(tally: Tally) -> Figures:
    """The tally as figures, without its empty cells (a person counted before and not after)."""
    return {(unit, id_, period): (n, d) for period, cells in tally.items() for (unit, id_), (n, d) in cells.items() if n or d}


def add(into: Figures, figures: Mapping[Cell, Figure], sign: int = 1) -> Figures:
    for cell, (n, d) in figures.items():
        old_n, old_d = into.get(cell, (0, 0))
        new = (old_n + sign * n, old_d + sign * d)
        if new == (0, 0):
            into.pop(cell, None)
        else:
            into[cell] = new
    return into


def from_scratch(
    facts: Facts, periods: Sequence[Period], indicators: Sequence[Compiled], people: Iterable[uuid.UUID] | None = None,
) -> Figures:
    """Every person's contribution, added up: the view a full rebuild gives (unit level).
    ``people``: only theirs (the others in ``facts`` are there for what links them: a chunk of
    a rebuild's final count)."""
    windows, rules, into = _windows(periods), _rules(indicators), {}
    for person in facts if people is None else people:
        _count(timeline(person, facts), windows, rules, into)
    return _figures(into)


def merged(known: Facts, new: Iterable[Fact]) -> dict[uuid.UUID, list[Fact]]:
    out = {person: list(facts) for person, facts in known.items()}
    seen = {(f.subject, f.event_id) for facts in out.values() for f in facts}
    for f in new:
        if (f.subject, f.event_id) not in seen:
            seen.add((f.subject, f.event_id))
            out.setdefault(f.subject, []).append(f)
    return out


def affected_by(new: Sequence[Fact], facts: Facts) -> set[uuid.UUID]:
    """The people whose figures new facts can change: the people they are about, and those
    linked to them (a planner whose partner was served, a newborn whose mother moved)."""
    subjects = {f.subject for f in new}
    return subjects | links_of(f for s in subjects for f in facts.get(s, ()))


def still_needed(new: Sequence[Fact], known: Facts) -> set[uuid.UUID]:
    """Whose stored facts must be loaded (beyond ``known``) before ``changes`` can run: the
    affected people and everyone linked to them. Call until it returns nothing."""
    # The links of ``merged(known, new)``, without copying every known fact into it (this runs
    # two or three times a batch): a fact seen twice adds no other link.
    arriving = by_subject(new)

    def links(people: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        return links_of(f for p in people for facts in (known.get(p, ()), arriving.get(p, ())) for f in facts)

    affected = set(arriving) | links(arriving)
    return (affected | links(affected)) - set(known)


def changes(known: Facts, new: Sequence[Fact], periods: Sequence[Period], indicators: Sequence[Compiled]) -> Figures:
    """The change to the (unit-level) view when ``new`` facts join ``known`` ones. ``known``
    must hold every stored fact of the people ``still_needed`` names. Only the periods a new
    fact can reach are recomputed, for only the people it can affect."""
    after = merged(known, new)
    arriving = by_subject(new)
    rules, delta = _rules(indicators), {}
    for person in affected_by(new, after):
        own = after.get(person, ())
        sources = [f for s in ({person} | links_of(own) if own else (person,)) for f in arriving.get(s, ())]
        touched = reached(sources, periods)
        if touched:
            windows = _windows(touched)
            _count(timeline(person, known), windows, rules, delta, -1)
            _count(timeline(person, after), windows, rules, delta)
    return _figures(delta)


def visible(facts: Iterable[Fact], clocks: Clocks) -> dict[uuid.UUID, list[Fact]]:
    return by_subject(f for f in facts if clocks.sees(f.occurred_at, f.recorded_at))


def window_figures(facts: Facts, window: Window, period: Period, indicators: Sequence[Compiled]) -> Figures:
    """Unit-level figures for one window (a period cut at ``as_of``)."""
    cells: dict[tuple[str, str], list[int]] = {}
    for person in facts:
        line = timeline(person, facts)
        if line.stays:
            for c in counted_in(line, window, indicators):
                total = cells.get((c.unit, c.indicator))
                if total is None:
                    cells[(c.unit, c.indicator)] = [int(c.served), 1]
                else:
                    total[0] += c.served
                    total[1] += 1
    return _figures({period: cells})


def rolled_up(figures: Mapping[Cell, Figure], tree: UnitTreeLike) -> Figures:
    """Unit-level figures plus, for every town and the district, the sum of their villages."""
    # Summed in place, zeros dropped once at the end: the same result as ``add`` cell by
    # cell, without a dict and a tree walk per cell (it was a sixth of a batch's time).
    out: dict[Cell, list[int]] = {}
    lines: dict[str, tuple[str, ...]] = {}
    for (unit, indicator, period), (n, d) in figures.items():
        codes = lines.get(unit)
        if codes is None:
            codes = lines[unit] = (unit, *(a.code for a in tree.ancestors(unit))) if unit in tree else (unit,)
        for code in codes:
            total = out.get((code, indicator, period))
            if total is None:
                out[(code, indicator, period)] = [n, d]
            else:
                total[0] += n
                total[1] += d
    return {cell: (n, d) for cell, (n, d) in out.items() if n or d}


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def band(numerator: int, denominator: int, target: float, yellow_margin: float) -> str:
    """green: at or above target; yellow: within the margin below it; red: further below;
    grey: nobody to count."""
    if denominator == 0:
        return "grey"
    r = numerator / denominator
    if r >= target - 1e-12:
        return "green"
    return "yellow" if r >= target - yellow_margin - 1e-12 else "red"
