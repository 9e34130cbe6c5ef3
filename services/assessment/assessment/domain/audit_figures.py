"""A unit's coverage figures recomputed from events alone, with the assessment's pure domain
code: what ``msp audit export`` selects and ``msp audit verify-bundle`` recomputes, offline.

The same functions keep the live view (``domain.coverage``), so a recomputation that differs
from the published figure means the figure is wrong, not the recomputation's own logic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from assessment.domain.coverage import compile_indicators, rolled_up, window_figures
from assessment.domain.facts import (
    PERSON_EVENT_TYPES, RETURNED, SPOUSE, Fact, PenaltyFact, by_subject, facts_of, links_of, penalty_of,
)
from assessment.domain.periods import Clocks, Period
from assessment.domain.policy import Rules
from platform_kit.contract import catalogue
from platform_kit.envelope import Envelope
from platform_kit.units import UnitTree

Figures = dict[str, tuple[int, int]]  # indicator -> (numerator, denominator)


def facts_from(events: Iterable[Envelope]) -> list[Fact]:
    return [f for e in events if e.event_type in PERSON_EVENT_TYPES for f in facts_of(e, catalogue.load(e))]


def subtree(tree: UnitTree, code: str) -> set[str]:
    codes = {code}
    for child in tree.children(code):
        codes |= subtree(tree, child.code)
    return codes


def needed_events(events: Sequence[Envelope], tree: UnitTree, unit: str) -> list[Envelope]:
    """The events a unit's figures can depend on: those about anyone ever placed in the unit
    (or a unit within it), about the people linked to them (partner, mother, child: a newborn
    lives where its mother does), and about the people linked to *those* (whose timelines the
    linked ones' depend on). The export checks that this choice gives the same figures as
    every event does."""
    facts = facts_from(events)
    within = subtree(tree, unit)
    grouped = by_subject(facts)
    people = {f.subject for f in facts if within.intersection(f.units)}
    for _ in range(2):
        people |= links_of(f for p in people for f in grouped.get(p, ()))
    wanted = {f.event_id for p in people for f in grouped.get(p, ())}
    return [e for e in events if e.event_id in wanted]


def unit_figures(
    events: Iterable[Envelope], rules: Rules, tree: UnitTree, unit: str, period: Period, clocks: Clocks = Clocks()
) -> Figures:
    """Every indicator of ``unit`` for ``period``, as the clocks see the events."""
    visible = [f for f in facts_from(events) if clocks.sees(f.occurred_at, f.recorded_at)]
    window = clocks.window(period)
    indicators = compile_indicators(rules.indicators)
    figures: Figures = {i.id: (0, 0) for i in rules.indicators}
    if window is None:
        return figures
    rolled = rolled_up(window_figures(by_subject(visible), window, period, indicators), tree)
    for (code, indicator, _), figure in rolled.items():
        if code == unit:
            figures[indicator] = figure
    return figures


def people_of(events: Iterable[Envelope]) -> set[uuid.UUID]:
    return {f.subject for f in facts_from(events)}


# -- how the scoreboard changed between two knowledge dates (``msp audit diff``) -----------------

Contributions = dict[uuid.UUID, dict[tuple[str, str], tuple[int, int]]]  # person -> (unit, indicator) -> figure


def contributions(facts: Sequence[Fact], rules: Rules, tree: UnitTree, period: Period, known_at, level: str) -> Contributions:
    """What each person adds to each cell of ``level`` (town or village) for ``period``, as
    known at ``known_at``: the same counting as the view (``domain.coverage.counted_in``)."""
    from assessment.domain.coverage import counted_in
    from assessment.domain.people import timeline
    from assessment.domain.periods import Window

    clocks = Clocks(known_at=known_at)
    grouped = by_subject(f for f in facts if clocks.sees(f.occurred_at, f.recorded_at))
    indicators = compile_indicators(rules.indicators)
    out: Contributions = {}
    for person in grouped:
        line = timeline(person, grouped)
        if not line.stays:
            continue
        for c in counted_in(line, Window(period.start, period.end), indicators):
            unit = _at_level(tree, c.unit, level)
            if unit is not None:
                out.setdefault(person, {})[(unit, c.indicator)] = (int(c.served), 1)
    return out


def _at_level(tree: UnitTree, code: str, level: str) -> str | None:
    if code not in tree:
        return None
    if tree[code].level == level:
        return code
    return next((u.code for u in tree.ancestors(code) if u.level == level), None)


def totals(contributed: Contributions) -> dict[tuple[str, str], tuple[int, int]]:
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for cells in contributed.values():
        for cell, (n, d) in cells.items():
            old = out.get(cell, (0, 0))
            out[cell] = (old[0] + n, old[1] + d)
    return out


def changed_cells(before: Contributions, after: Contributions, facts: Sequence[Fact], since, until) -> list[dict]:
    """Each cell whose figure differs, with the people whose part in it changed and the events
    recorded in (since, until] about them or the people linked to them: why it changed. Each is
    (recorded, occurred, type, id, the id it corrects or None); a correction's corrected event
    is listed too."""
    a, b = totals(before), totals(after)
    grouped = by_subject(facts)
    originals = {f.event_id: f for f in facts if f.kind not in (RETURNED, SPOUSE)}
    rows = []
    for cell in sorted(set(a) | set(b)):
        if a.get(cell, (0, 0)) == b.get(cell, (0, 0)):
            continue
        people = {p for p in set(before) | set(after) if before.get(p, {}).get(cell) != after.get(p, {}).get(cell)}
        related = people | links_of(f for p in people for f in grouped.get(p, ()))
        found = {(f.recorded_at, f.occurred_at, f.kind, f.event_id, f.data.get("corrects")) for p in related
                 for f in grouped.get(p, ()) if since < f.recorded_at <= until}
        # A correction is shown with the event it corrects (recorded before, perhaps long before).
        for *_, corrects in list(found):
            if corrects and (original := originals.get(uuid.UUID(corrects))) is not None:
                found.add((original.recorded_at, original.occurred_at, original.kind, original.event_id, None))
        events = sorted(found, key=lambda e: e[:4])
        rows.append({"unit": cell[0], "indicator": cell[1], "before": a.get(cell, (0, 0)), "after": b.get(cell, (0, 0)), "events": events})
    return rows


# -- how the rankings changed (``msp audit diff``'s rank rows) ------------------------------------

def penalties_from(events: Iterable[Envelope], rules: Rules) -> list[PenaltyFact]:
    """The penalty facts of ``events`` (in the replay's order, which keeps each stream's), as the
    projection makes them: a rule may depend on what the event's stream had before it."""
    marks: dict[str, list] = {}
    out = []
    for e in events:
        if e.event_type in rules.penalty_event_types and (p := penalty_of(e, rules, marks.get(e.stream_id, []))):
            out.append(p)
        if e.event_type in rules.marked_event_types:
            marks.setdefault(e.stream_id, []).append((e.event_type, e.payload))
    return out


def ranks(contributed: Contributions, penalties: Sequence[PenaltyFact], rules: Rules, tree: UnitTree, period: Period,
          known_at, level: str) -> dict[str, tuple[int | None, float | None]]:
    """Each unit's (rank, score) as known at ``known_at``: towns among towns, villages within
    their town, with the scoreboard's own scoring (attainment minus penalties; vetoes are the
    assessment's decisions, not in the source stores: not included)."""
    from assessment.domain.periods import Window
    from assessment.domain.scoring import penalty_book, ranked, unit_score

    figures = totals(contributed)
    book = penalty_book(penalties, Window(period.start, period.end), Clocks(known_at=known_at), tree, rules)
    groups = [tree.towns()] if level == "town" else [tree.children(town.code) for town in tree.towns()]
    out: dict[str, tuple[int | None, float | None]] = {}
    for group in groups:
        scores = [
            unit_score(u.code, {i.id: figures.get((u.code, i.id), (0, 0)) for i in rules.indicators}, rules, book.of(u.code), False)
            for u in group
        ]
        out |= {r.unit.unit_code: (r.rank, r.unit.score) for r in ranked(scores, rules.rectification.bottom_count)}
    return out


def rank_rows(before: dict, after: dict, cells: Sequence[dict], penalties: Sequence[PenaltyFact], tree: UnitTree,
              since, until) -> list[dict]:
    """A row per unit whose rank or score differs, with the events behind its changed figures
    and the penalties recorded in between on it (or a unit within it)."""
    rows = []
    for unit in sorted(set(before) | set(after)):
        if before.get(unit) == after.get(unit):
            continue
        found = {e for row in cells if row["unit"] == unit for e in row["events"]}
        found |= {
            (p.recorded_at, p.occurred_at, f"penalty:{p.rule}", p.event_id, None) for p in penalties
            if since < p.recorded_at <= until and (p.unit_code == unit or (
                p.unit_code in tree and unit in {a.code for a in tree.ancestors(p.unit_code)}))
        }
        rows.append({"unit": unit, "indicator": "rank", "before": list(before.get(unit, (None, None))),
                     "after": list(after.get(unit, (None, None))), "events": sorted(found, key=lambda e: e[:4])})
    return rows
