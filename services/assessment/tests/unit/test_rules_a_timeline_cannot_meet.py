"""The counting asks each rule's ``POSSIBLE`` test once per person and skips the rule in every
period when it says no: on random histories, a rule it rules out never says yes in a window of
the span (periods whole, or cut at a date), nor does a skipped rule change a figure."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from assessment_histories import PERIODS, RULES, build, facts_in, histories
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessment.domain.coverage import compile_indicators, from_scratch
from assessment.domain.facts import by_subject
from assessment.domain.people import standing, timeline
from assessment.domain.periods import Clocks, Window
from assessment.domain.rules import DENOMINATORS, NUMERATORS, POSSIBLE, compiled, possible
from assessment_testing import instant

SETTINGS = settings(
    max_examples=int(os.environ.get("ASSESSMENT_PROPERTY_EXAMPLES", "100")), deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# Every rule with a test, with the arguments the indicators give and a few others.
CHECKED = [
    ("denominator", "surveyed:policy_awareness"), ("denominator", "married_of_childbearing_age"),
    ("denominator", "couples_of_childbearing_age"), ("denominator", "married_women_of_childbearing_age"),
    ("denominator", "couples_planning_pregnancy"), ("denominator", "children_of_compulsory_school_age"),
    ("denominator", "children_of_compulsory_school_age:12-31"),
    ("numerator", "received:pregnancy_check"), ("numerator", "received_where_they_live"),
    ("numerator", "received_where_they_live:free_contraceptives"),
    ("numerator", "couple_received:pre_pregnancy_consultation"),
    ("numerator", "couple_received_where_they_live:pre_pregnancy_health_check"),
    ("numerator", "spouses_received:free_contraceptives"), ("numerator", "aware:policy_awareness"),
    ("numerator", "enrolled"),
]


def test_every_rule_with_a_test_is_checked_here():
    assert set(POSSIBLE) <= set(DENOMINATORS) | set(NUMERATORS)
    assert {rule.partition(":")[0] for _, rule in CHECKED} == set(POSSIBLE)


@SETTINGS
@given(histories, st.integers(0, 364))
def test_a_rule_ruled_out_for_a_timeline_says_no_in_every_window_of_the_span(steps, cut_day):
    facts = by_subject(facts_in(build(steps).events))
    cut = Clocks(as_of=instant("2013-01-01") + timedelta(days=cut_day))
    windows = [Window(p.start, p.end) for p in PERIODS] + [w for p in PERIODS if (w := cut.window(p))]
    span = (min(w.start for w in windows), max(w.end for w in windows))
    for person in facts:
        line = timeline(person, facts)
        for kind, rule in CHECKED:
            if possible(kind, rule)(line, span):
                continue
            ask = compiled(kind, rule)
            for w in windows:
                st_ = standing(line, w)
                if st_ is not None and st_.profile is not None:
                    assert ask(line, st_, w) == (False, ()), (rule, person, w)


@pytest.mark.parametrize("population", ["migrant", "registered"])
@SETTINGS
@given(steps=histories)
def test_skipping_the_rules_ruled_out_changes_no_figure(population, steps):
    facts = by_subject(facts_in(build(steps).events))
    indicators = compile_indicators(RULES.indicators, population)
    every_time = tuple(i.__class__(i.id, i.denominator, i.numerator, i.population) for i in indicators)
    assert all(i.can_count is None and i.can_serve is None for i in every_time)
    assert any(i.can_count is not None for i in indicators)
    assert from_scratch(facts, PERIODS, indicators) == from_scratch(facts, PERIODS, every_time)
