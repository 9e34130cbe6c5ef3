"""Which years are live: the configured ones, and the calendar's current and previous year."""

from __future__ import annotations

from datetime import date

from assessment.domain.periods import live_years
from assessment.settings import DEFAULT_RULES, load_rules


def test_the_current_and_previous_year_are_live_besides_the_configured_ones():
    assert live_years([2013], date(2026, 12, 1), 2) == {2013, 2025, 2026}
    assert live_years([2013], date(2014, 1, 1), 2) == {2013, 2014}
    assert live_years([2013], date(2014, 1, 1), 0) == {2013}


def test_the_district_keeps_two_recent_years_by_default():
    assert load_rules(DEFAULT_RULES).assessment.recent_years == 2
