"""Property: however a history arrives (any order, any batches), the incrementally kept view
equals the view recomputed from scratch; and the view "known at K" computed from history
equals the view kept live from exactly the events recorded by K."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from assessment_histories import INDICATORS, PERIODS, build, facts_in, histories, in_batches, kept_live
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessment.domain.coverage import add, from_scratch, window_figures
from assessment.domain.facts import by_subject
from assessment.domain.periods import Clocks
from assessment_examples import CHANGAN, JIANSHE, XINHUA
from assessment_testing import History, instant

# ASSESSMENT_PROPERTY_EXAMPLES raises the count for a long local run (CI keeps 100).
SETTINGS = settings(
    max_examples=int(os.environ.get("ASSESSMENT_PROPERTY_EXAMPLES", "100")), deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(histories, st.randoms(use_true_random=False), st.lists(st.integers(0, 60), max_size=6))
def test_the_view_kept_incrementally_equals_a_recomputation_whatever_the_arrival_order(steps, rnd, cuts):
    events = build(steps).events
    arriving = list(events)
    rnd.shuffle(arriving)
    assert kept_live(in_batches(arriving, cuts)) == from_scratch(by_subject(facts_in(events)), PERIODS, INDICATORS)


@SETTINGS
@given(histories, st.integers(0, 400))
def test_the_view_known_at_a_date_equals_the_live_view_of_what_was_recorded_by_then(steps, known_day):
    events = build(steps).events
    clocks = Clocks(known_at=instant("2013-01-01") + timedelta(days=known_day))
    recorded_by_then = sorted((e for e in events if e.recorded_at <= clocks.known_at), key=lambda e: e.recorded_at)
    live_then = kept_live([[e] for e in recorded_by_then])
    seen = by_subject(f for f in facts_in(events) if clocks.sees(f.occurred_at, f.recorded_at))
    from_history: dict = {}
    for period in PERIODS:
        add(from_history, window_figures(seen, clocks.window(period), period, INDICATORS))
    assert from_history == live_then


@SETTINGS
@given(histories, st.integers(0, 364))
def test_as_of_a_date_equals_a_rebuild_from_what_had_occurred_by_then_for_the_periods_already_over(steps, as_of_day):
    events = build(steps).events
    clocks = Clocks(as_of=instant("2013-01-01") + timedelta(days=as_of_day))
    over = [p for p in PERIODS if p.end <= clocks.as_of]
    rebuilt = kept_live([[e for e in events if e.occurred_at <= clocks.as_of]])
    seen = by_subject(f for f in facts_in(events) if clocks.sees(f.occurred_at, f.recorded_at))
    from_history: dict = {}
    for period in over:
        add(from_history, window_figures(seen, clocks.window(period), period, INDICATORS))
    assert from_history == {cell: figure for cell, figure in rebuilt.items() if cell[2] in over}


def _couple(h: History) -> None:
    h.registered("wang", unit=JIANSHE, at="2013-01-05", sex="male", born="1983-01-01")
    h.registered("zhao", unit=JIANSHE, at="2013-01-05", born="1988-01-01")
    h.planned("wang", partner="zhao", at="2013-02-01")


LATER_FACTS = {
    "a move changes every later period": lambda h: h.moved("zhao", to=XINHUA, at="2013-03-10"),
    "a departure changes every later period": lambda h: h.departed("zhao", at="2013-03-10"),
    "a divorce changes every later period": lambda h: h.marital("zhao", "divorced", previous="married", at="2013-03-10"),
    "a partner's consultation counts for the couple": lambda h: h.served("zhao", "pre_pregnancy_consultation", by=JIANSHE, at="2013-03-10"),
    "a birth ends nothing before it and brings a newborn": lambda h: h.birth("zhao", child="bao", at="2013-03-10"),
    "a service counts in the periods it occurred in": lambda h: h.served("wang", "free_contraceptives", by=JIANSHE, at="2013-03-10"),
    "a survey counts in the periods it occurred in": lambda h: h.surveyed("wang", "policy_awareness", aware=True, at="2013-03-10"),
}


@pytest.mark.parametrize("later", LATER_FACTS.values(), ids=LATER_FACTS.keys())
def test_a_fact_arriving_after_the_rest_changes_every_figure_it_reaches(later):
    h = History()
    _couple(h)
    earlier = len(h.events)
    later(h)
    assert kept_live([h.events[:earlier], h.events[earlier:]]) == from_scratch(
        by_subject(facts_in(h.events)), PERIODS, INDICATORS
    )


def test_an_enrolment_arriving_later_counts_in_every_later_period():
    h = History()
    h.registered("ming", unit=XINHUA, at="2013-01-10", sex="male", born="2005-09-01", marital="unmarried")
    h.enrolled("ming", at="2013-03-10")
    assert kept_live([h.events[:1], h.events[1:]]) == from_scratch(by_subject(facts_in(h.events)), PERIODS, INDICATORS)


def test_a_newborn_follows_a_mother_whose_move_arrives_later():
    h = History()
    _couple(h)
    h.birth("zhao", child="bao", at="2013-03-10")
    born = len(h.events)
    h.moved("zhao", to=CHANGAN, at="2013-05-10")
    assert kept_live([h.events[:born], h.events[born:]]) == from_scratch(by_subject(facts_in(h.events)), PERIODS, INDICATORS)


def _returners() -> History:
    """Two people who leave and come back (one twice), with services under each identity."""
    h = History("returners")
    h.registered("r1", unit=JIANSHE, at="2013-01-05")
    h.served("r1", "pregnancy_check", by=JIANSHE, at="2013-02-01")
    h.departed("r1", at="2013-04-10")
    h.registered("r1b", unit=XINHUA, at="2013-05-15", returning="r1")
    h.served("r1b", "free_contraceptives", by=XINHUA, at="2013-06-01")
    h.departed("r1b", at="2013-08-01")
    h.registered("r1c", unit=CHANGAN, at="2013-10-01", returning="r1")
    h.served("r1c", "pregnancy_check", by=CHANGAN, at="2013-11-01")
    h.registered("r2", unit=CHANGAN, at="2013-02-01", sex="male")
    h.planned("r2", partner="r1", at="2013-03-01")
    return h


def _registered_again_naming_the_person_key() -> tuple[History, int]:
    """The case hypothesis found (issue 10): an identity counted on its own from January (a
    registration without the person key, and a service) is registered again in September with
    the key. From then on all of its facts, January's too, belong to the first identity's
    timeline: the separate count must go from every period, not only those after September."""
    h = History("registered-again")
    h.registered("b", unit=JIANSHE, at="2013-01-05", born="1985-07-01")
    h.departed("b", at="2013-04-09")
    h.registered("b~", unit=JIANSHE, at="2013-01-16", born="1985-07-01")
    h.served("b~", "pregnancy_check", by=JIANSHE, at="2013-02-01")
    before_the_key = len(h.events)
    h.registered("b~", unit=JIANSHE, at="2013-09-03", born="1985-07-01", returning="b")
    return h, before_the_key


def test_an_identity_linked_to_its_person_later_leaves_every_period_it_was_counted_in_alone():
    h, before_the_key = _registered_again_naming_the_person_key()
    scratch = from_scratch(by_subject(facts_in(h.events)), PERIODS, INDICATORS)
    checks_q1 = ("370402001001", "free_pregnancy_checks", next(p for p in PERIODS if p.quarter == 1))
    assert scratch[checks_q1] == (1, 1)  # one woman, checked in February (under her second id)
    assert kept_live([h.events[:before_the_key], h.events[before_the_key:]]) == scratch
    assert kept_live([[e] for e in h.events]) == scratch


@SETTINGS
@given(st.randoms(use_true_random=False), st.lists(st.integers(0, 12), max_size=5))
def test_returners_kept_incrementally_equal_a_recomputation_whatever_the_arrival_order(rnd, cuts):
    events = _returners().events
    arriving = list(events)
    rnd.shuffle(arriving)
    assert kept_live(in_batches(arriving, cuts)) == from_scratch(by_subject(facts_in(events)), PERIODS, INDICATORS)


def _spouses() -> History:
    """A couple named on the marriage: supplies to either, a move of one, a divorce."""
    h = History("spouses")
    h.registered("s1", unit=JIANSHE, at="2013-01-05", sex="male", born="1985-01-01", marital="unmarried")
    h.registered("s2", unit=XINHUA, at="2013-01-05", born="1988-01-01", marital="unmarried")
    h.marital("s1", "married", previous="unmarried", at="2013-02-01", spouse="s2")
    h.marital("s2", "married", previous="unmarried", at="2013-02-03", spouse="s1")
    h.served("s1", "free_contraceptives", by=JIANSHE, at="2013-03-01")
    h.moved("s2", to=CHANGAN, at="2013-05-01")
    h.served("s2", "free_contraceptives", by=CHANGAN, at="2013-08-01")
    h.marital("s2", "divorced", previous="married", at="2013-10-01")
    return h


@SETTINGS
@given(st.randoms(use_true_random=False), st.lists(st.integers(0, 10), max_size=5))
def test_spouses_kept_incrementally_equal_a_recomputation_whatever_the_arrival_order(rnd, cuts):
    events = _spouses().events
    arriving = list(events)
    rnd.shuffle(arriving)
    assert kept_live(in_batches(arriving, cuts)) == from_scratch(by_subject(facts_in(events)), PERIODS, INDICATORS)
