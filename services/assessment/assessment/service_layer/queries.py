"""The read side: coverage, explanations and trends, for any period and any pair of clocks
(the scoreboard, built on it: ``scoreboard.py``). "Now" for a period of the assessment years is read from the live view;
anything else is computed from the facts the clocks can see, with the same functions that
keep the live view, so the two cannot drift apart."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

import asyncpg

from assessment.adapters.coverage_store import CoverageStore
from assessment.adapters.facts_store import FactStore
from assessment.adapters.snapshots import Snapshots, fingerprint, key
from assessment.domain.policy import Rules
from assessment.domain.coverage import POPULATIONS, Figure, compile_indicators, counted_in, rolled_up, window_figures
from assessment.domain.facts import CORRECTED, RECORD_CORRECTED, RETURNED, SPOUSE
from assessment.domain.people import timeline
from assessment.domain.periods import TICK, Clocks, Period
from assessment.domain.scoring import equalisation_gap, indicator_figure
from assessment.domain.units_en import english_name
from platform_kit.clock import SYSTEM_CLOCK, Clock
from platform_kit.problems import NotFound
from platform_kit.units import Unit, UnitTree

PeriodFigures = dict[tuple[str, str], Figure]  # (unit, indicator) -> figure


class Reads:
    def __init__(
        self, pool: Callable[[], asyncpg.Pool], schema: str, rules: Rules, tree: UnitTree, clock: Clock = SYSTEM_CLOCK,
        live_years: Callable[[], frozenset[int]] | None = None,
    ) -> None:
        self._pool = pool
        self.clock = clock
        self.schema = schema
        self.rules = rules
        self.tree = tree
        self.facts = FactStore(schema)
        self.coverage = CoverageStore(schema)
        self.indicators = compile_indicators(rules.indicators)
        # The live view keeps migrants only; the registered population (户籍人口) is computed
        # from the facts on request, like any period outside the assessment years.
        self.by_population = {p: compile_indicators(rules.indicators, p) for p in POPULATIONS}
        # Which years the live view holds, as last committed (by default: the configured ones).
        self.live_years = live_years or (lambda: frozenset(rules.assessment.years))
        self.snapshots = Snapshots(schema)
        self.configuration = fingerprint(rules.model_dump_json(), *self.subtree(tree.district.code))

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool()

    # -- units ---------------------------------------------------------------------------

    def unit(self, code: str, *, field: str = "path.unit_code") -> Unit:
        """The unit ``code`` names; ``field`` is where the request named it."""
        if code not in self.tree:
            raise NotFound(field, f"{code!r} is not a unit of {self.tree.district.name}")
        return self.tree[code]

    def unit_json(self, unit: Unit) -> dict:
        return {
            "code": unit.code, "name": unit.name, "name_en": english_name(unit.name), "level": unit.level,
            "parent_code": unit.parent_code,
        }

    def subtree(self, code: str) -> list[str]:
        codes = [code]
        for child in self.tree.children(code):
            codes.extend(self.subtree(child.code))
        return codes

    def units(self) -> dict:
        district = self.tree.district
        return {
            "district": self.unit_json(district),
            "towns": [
                {**self.unit_json(town), "villages": [self.unit_json(v) for v in self.tree.children(town.code)]}
                for town in self.tree.towns()
            ],
        }

    def indicators_json(self) -> list[dict]:
        return [
            {
                "id": i.id, "name_zh": i.name_zh, "name_en": i.name_en, "denominator": i.denominator,
                "numerator": i.numerator, "target": i.target, "target_source": i.target_source, "weight": i.weight,
                "weight_source": i.weight_source, "rule_source": i.rule_source, "yellow_margin": self.rules.yellow_margin(i),
            }
            for i in self.rules.indicators
        ]

    def rules_json(self) -> dict:
        r = self.rules
        return {
            "years": r.assessment.years,
            "indicators": self.indicators_json(),
            "yellow_margin": r.bands.yellow_margin,
            "yellow_margin_source": r.bands.source,
            "penalties": [
                {"id": p.id, "name_zh": p.name_zh, "name_en": p.name_en, "event_type": p.event_type, "points": p.points,
                 "cap": p.cap, "source": p.source}
                for p in r.penalties
            ],
            "veto_applies_to_containing_periods": r.veto.applies_to_containing_periods,
            "veto_source": r.veto.source,
            "rectification": r.rectification.model_dump(),
        }

    # -- figures ---------------------------------------------------------------------------

    def is_live(self, period: Period, clocks: Clocks, population: str = "migrant") -> bool:
        if population != "migrant":
            return False
        known_now = clocks.known_at is None or clocks.known_at >= self.clock.now()
        whole_period = clocks.as_of is None or clocks.as_of + TICK >= period.end
        return period.year in self.live_years() and known_now and whole_period

    async def figures(
        self, periods: Sequence[Period], clocks: Clocks, scope: str | None = None, units: Sequence[str] | None = None,
        population: str = "migrant", sources: dict[Period, str] | None = None,
    ) -> dict[Period, PeriodFigures]:
        """Rolled-up figures per period: for ``scope`` and the units within it, for ``units``,
        or for every unit. ``sources``, if given, is told where each period's figures came
        from: ``live`` (the kept view) or ``history`` (computed from the facts on request)."""
        within = None if scope is None or scope == self.tree.district.code else self.subtree(scope)
        wanted = set(self.subtree(scope)) if scope is not None else set(units) if units is not None else None
        live = [p for p in periods if self.is_live(p, clocks, population)]
        # While a rebuild replays, the live years are computed on request like any other period.
        out = (await self.coverage.of_periods_when_whole(self.pool, live, wanted) if live else None) or {}
        if sources is not None:
            sources.update({p: "live" if p in out else "history" for p in periods})
        windows = {p: clocks.window(p) for p in periods if p not in out}
        ends = [w.end for w in windows.values() if w is not None]
        # District-wide figures at a past knowledge date are kept once computed (see
        # adapters/snapshots); marked before the facts are read, so a fact arriving meanwhile
        # makes the snapshot stale, never wrongly current. The facts read stop at the latest
        # end asked for, which is part of the key, as it is of what is computed.
        kept = windows and clocks.known_at is not None and within is None
        if kept:
            bounded = f"{self.configuration}|{max(ends, default=None)}"
            for period in list(windows):
                found = await self.snapshots.get(self.pool, key(period, population, clocks, bounded), clocks.known_at)
                if found is not None:
                    out[period] = {c: f for c, f in found.items() if wanted is None or c[0] in wanted}
                    del windows[period]
        if any(windows.values()):
            # Only when something is computed: a read the snapshots answer needs no mark.
            mark = await self.snapshots.mark(self.pool) if kept else 0
            if within is None:
                facts = await self.facts.visible(self.pool, clocks, max(ends))
            else:
                facts = await self.facts.around(self.pool, within, clocks)
        for period, window in windows.items():
            if window is None:
                out[period] = {}
                continue
            rolled = rolled_up(window_figures(facts, window, period, self.by_population[population]), self.tree)
            every = {(u, i): f for (u, i, _), f in rolled.items()}
            if kept:
                await self.snapshots.put(self.pool, key(period, population, clocks, bounded), mark, every)
            out[period] = {c: f for c, f in every.items() if wanted is None or c[0] in wanted}
        return out

    async def coverage_of(self, unit_code: str, period: Period, clocks: Clocks, population: str = "migrant") -> dict:
        unit = self.unit(unit_code)
        # A year is shown beside the one before it: the document wants rates rising 逐年提高.
        yearly = not period.quarter and not period.month
        before = Period(period.year - 1) if yearly else None
        asked = [period, before] if before else [period]
        sources: dict[Period, str] = {}
        figures = await self.figures(asked, clocks, unit_code, population=population, sources=sources)

        def row(i) -> dict:
            now = indicator_figure(figures[period].get((unit_code, i.id), (0, 0)), i, self.rules).as_json()
            out = {"id": i.id, "name_zh": i.name_zh, "name_en": i.name_en, "weight": i.weight, **now}
            if before is not None:
                earlier = indicator_figure(figures[before].get((unit_code, i.id), (0, 0)), i, self.rules).as_json()
                out["previous_year"] = {"period": str(before), "rate": earlier["rate"]}
                out["change_points"] = equalisation_gap(now["rate"], earlier["rate"])
            return out

        return {
            "unit": self.unit_json(unit), "period": str(period), **clocks.as_json(), "population": population,
            "source": sources[period],
            "indicators": [row(i) for i in self.rules.indicators],
        }

    async def equalisation(self, unit_code: str, period: Period, clocks: Clocks) -> dict:
        """均等化: each indicator for migrants and for the registered population, and the gap
        between them in percentage points (migrant − registered; negative: migrants lag)."""
        unit = self.unit(unit_code)
        sources: dict[str, dict[Period, str]] = {p: {} for p in POPULATIONS}
        both = {
            p: (await self.figures([period], clocks, unit_code, population=p, sources=sources[p]))[period]
            for p in POPULATIONS
        }
        rows = []
        for i in self.rules.indicators:
            figs = {p: indicator_figure(both[p].get((unit_code, i.id), (0, 0)), i, self.rules).as_json() for p in POPULATIONS}
            m, r = figs["migrant"]["rate"], figs["registered"]["rate"]
            rows.append({
                "id": i.id, "name_zh": i.name_zh, "name_en": i.name_en, "target": i.target,
                "migrant": figs["migrant"], "registered": figs["registered"],
                "gap_points": equalisation_gap(m, r),
            })
        return {
            "unit": self.unit_json(unit), "period": str(period), **clocks.as_json(),
            "source": {p: sources[p][period] for p in POPULATIONS}, "indicators": rows,
        }

    async def explain(self, unit_code: str, indicator_id: str, period: Period, clocks: Clocks) -> dict:
        """Everyone counted in one cell, served or not, with the events that counted them."""
        unit = self.unit(unit_code)
        if indicator_id not in self.rules.by_id:
            raise NotFound("query.indicator", f"{indicator_id!r} is not one of {', '.join(self.rules.by_id)}")
        indicator = self.rules.by_id[indicator_id]
        compiled = [c for c in self.indicators if c.id == indicator_id]
        within = self.subtree(unit_code)
        window = clocks.window(period)
        people = []
        if window is not None:
            if unit.level == "district":
                facts = await self.facts.visible(self.pool, clocks, window.end)
            else:
                facts = await self.facts.around(self.pool, within, clocks)
            # A returner's registration is also a fact of the first identity: show the event's own type.
            kinds = {f.event_id: f for fs in facts.values() for f in fs if f.kind not in (RETURNED, SPOUSE)}
            inside = set(within)
            for person in facts:
                for c in counted_in(timeline(person, facts), window, compiled):
                    if c.unit in inside:
                        people.append(self._counted_json(c, kinds, _corrections(facts.get(c.person, ()), kinds, window)))
        people.sort(key=lambda p: (not p["served"], p["unit_code"], p["resident_id"]))
        n = sum(p["served"] for p in people)
        return {
            "unit": self.unit_json(unit), "indicator": {"id": indicator.id, "name_zh": indicator.name_zh,
            "name_en": indicator.name_en, "denominator": indicator.denominator, "numerator": indicator.numerator},
            "period": str(period), **clocks.as_json(),
            **indicator_figure((n, len(people)), indicator, self.rules).as_json(),
            "people": people,
        }

    def _counted_json(self, c, facts_by_event: dict, corrections: list) -> dict:
        def event(event_id: uuid.UUID, role: str, **more) -> dict:
            f = facts_by_event.get(event_id)
            return {
                "event_id": str(event_id), "role": role, "event_type": f.kind if f else None,
                "occurred_at": f.occurred_at.isoformat() if f else None,
                "recorded_at": f.recorded_at.isoformat() if f else None, **more,
            }

        # A corrected event is shown with its correction, whether the correction took it out of
        # the figure (withdrawn) or changed what it counts for (another kind).
        return {
            "resident_id": str(c.person), "unit_code": c.unit, "served": c.served,
            "events": [event(e, "denominator") for e in c.denominator_events]
            + [event(e, "numerator") for e in c.numerator_events]
            + [
                e for f in corrections for e in (
                    event(uuid.UUID(f.data["corrects"]), "corrected"),
                    event(f.event_id, "correction", corrects=f.data["corrects"], reason=f.data["reason"],
                          withdrawn=f.data["withdrawn"], service_kind=f.data.get("service_kind"),
                          corrected_type=f.data.get("corrected_type"), changed=f.data.get("changed")),
                )
            ],
        }

    async def trend(self, unit_code: str, year: int, clocks: Clocks) -> dict:
        self.unit(unit_code)
        months = Period(year).month_periods()
        figures = await self.figures(months, clocks, unit_code)
        return {
            "unit_code": unit_code, "year": year, **clocks.as_json(),
            "indicators": {
                i.id: [
                    {"period": str(m), **indicator_figure(figures[m].get((unit_code, i.id), (0, 0)), i, self.rules).as_json()}
                    for m in months
                ]
                for i in self.rules.indicators
            },
        }


def _corrections(person_facts, facts_by_event: dict, window) -> list:
    """The person's corrections the clocks let through: of services inside the window, and of
    their registration, moves and marital changes (who and where they were)."""
    found = []
    for f in person_facts:
        corrected = facts_by_event.get(uuid.UUID(f.data["corrects"])) if f.kind == CORRECTED else None
        if f.kind == RECORD_CORRECTED or (corrected is not None and corrected.occurred_at in window):
            found.append(f)
    return sorted(found, key=lambda f: (f.recorded_at, f.event_id))
