"""The demo year's scoreboard computed offline: the assessment's own pure functions
(coverage, penalties, scores, ranks) over the events the demo's actions become."""

from __future__ import annotations

from dataclasses import dataclass

from demo_events import demo_events
from district import Year

from assessment.domain.audit_figures import facts_from
from assessment.domain.coverage import compile_indicators, rolled_up, window_figures
from assessment.domain.facts import by_subject, penalty_of
from assessment.domain.periods import Clocks, Period, Window
from assessment.domain.scoring import UnitScore, penalty_book, ranked, unit_score
from assessment.settings import load_rules
from platform_kit.units import unit_tree


@dataclass
class Outcome:
    figures: dict[tuple[str, str], tuple[int, int]]  # (unit, indicator) -> (numerator, denominator)
    scores: dict[str, UnitScore]
    town_ranking: list[tuple[int, str, float, bool]]  # rank, unit, score, bottom

    def band(self, unit: str, indicator: str) -> str:
        return self.scores[unit].figures[indicator].band


def outcome(year: Year, period_text: str = "2013", population: str = "migrant") -> Outcome:
    rules, tree = load_rules(), unit_tree()
    events = demo_events(year.build())
    period = Period.parse(period_text)
    window = Window(period.start, period.end)
    indicators = compile_indicators(rules.indicators, population)
    figures = rolled_up(window_figures(by_subject(facts_from(events)), window, period, indicators), tree)
    cells = {(unit, indicator): figure for (unit, indicator, _), figure in figures.items()}
    streams: dict[str, list[tuple[str, dict]]] = {}
    penalties = []
    for event in sorted(events, key=lambda e: (e.occurred_at, e.recorded_at)):
        earlier = streams.setdefault(event.stream_id, [])
        if (found := penalty_of(event, rules, earlier)) is not None:
            penalties.append(found)
        earlier.append((event.event_type, event.payload))
    book = penalty_book(penalties, window, Clocks(), tree, rules)
    scores = {}
    for unit in [*tree.towns(), *tree.villages()]:
        mine = {i.id: cells.get((unit.code, i.id), (0, 0)) for i in rules.indicators}
        scores[unit.code] = unit_score(unit.code, mine, rules, book.of(unit.code), veto=False)
    towns = ranked([scores[t.code] for t in tree.towns()], rules.rectification.bottom_count)
    return Outcome(cells, scores, [(r.rank, r.unit.unit_code, r.unit.score, r.bottom) for r in towns])
