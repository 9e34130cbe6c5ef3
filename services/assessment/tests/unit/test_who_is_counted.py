"""The rules at their edges: whose service counts where, free or not, migrants only, ages at
the reference moment, a departure within the period."""

from __future__ import annotations

from assessment.domain.coverage import compile_indicators, from_scratch
from assessment.domain.facts import by_subject, facts_of
from assessment.domain.periods import Period, periods_of_year
from assessment.settings import DEFAULT_RULES, load_rules
from assessment_examples import CHANGAN, JIANSHE, XINHUA
from assessment_testing import History
from platform_kit.contract import catalogue

INDICATORS = compile_indicators(load_rules(DEFAULT_RULES).indicators)


def view(h: History) -> dict:
    facts = by_subject(f for e in h.events for f in facts_of(e, catalogue.load(e)))
    return from_scratch(facts, periods_of_year(2013), INDICATORS)


def figure(v: dict, unit: str, indicator: str, period: str) -> tuple[int, int]:
    return v.get((unit, indicator, Period.parse(period)), (0, 0))


def test_a_service_from_another_unit_is_not_a_service_where_she_lives():
    h = History()
    h.registered("li", unit=XINHUA, at="2013-05-02")
    h.served("li", "follow_up_visit", by=JIANSHE, at="2013-05-20")
    v = view(h)
    assert figure(v, XINHUA, "services_where_they_live", "2013-05") == (0, 1)
    h.served("li", "follow_up_visit", by=XINHUA, at="2013-05-21")
    assert figure(view(h), XINHUA, "services_where_they_live", "2013-05") == (1, 1)


def test_a_service_that_was_not_free_does_not_count():
    h = History()
    h.registered("li", unit=XINHUA, at="2013-05-02")
    h.served("li", "pregnancy_check", by=XINHUA, at="2013-05-20", free=False)
    assert figure(view(h), XINHUA, "free_pregnancy_checks", "2013-05") == (0, 1)


def test_residents_registered_here_are_not_migrants_and_are_not_counted():
    h = History()
    h.registered("local", unit=XINHUA, at="2013-05-02", population="registered")
    assert view(h) == {}


def test_age_is_read_at_the_reference_moment():
    h = History()
    h.registered("turns_fifty", unit=XINHUA, at="2013-01-05", born="1963-05-15")
    h.registered("turns_fifteen", unit=CHANGAN, at="2013-01-05", born="1998-05-15", marital="married")
    v = view(h)
    assert figure(v, XINHUA, "free_pregnancy_checks", "2013-04") == (0, 1)  # 49 on 30 April
    assert figure(v, XINHUA, "free_pregnancy_checks", "2013-05") == (0, 0)  # 50 on 31 May
    assert figure(v, CHANGAN, "free_pregnancy_checks", "2013-04") == (0, 0)  # 14
    assert figure(v, CHANGAN, "free_pregnancy_checks", "2013-05") == (0, 1)  # 15
    assert figure(v, XINHUA, "free_pregnancy_checks", "2013-Q2") == (0, 0)


def test_someone_who_left_within_the_period_counts_where_they_lived_last():
    h = History()
    h.registered("li", unit=CHANGAN, at="2013-04-02")
    h.departed("li", at="2013-05-10")
    v = view(h)
    assert figure(v, CHANGAN, "services_where_they_live", "2013-05") == (0, 1)
    assert figure(v, CHANGAN, "services_where_they_live", "2013-06") == (0, 0)
    assert figure(v, CHANGAN, "free_pregnancy_checks", "2013") == (0, 1)
