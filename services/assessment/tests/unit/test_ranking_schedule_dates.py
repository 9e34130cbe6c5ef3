"""定期通报 on the district's schedule: which periods' rankings are due at an instant."""

from __future__ import annotations

from assessment.domain.periods import Period
from assessment.domain.schedule import due
from assessment_testing import instant

QUARTER_AND_YEAR = ["quarter", "year"]


def test_a_period_is_due_the_given_days_after_it_ends_and_not_before():
    assert due(QUARTER_AND_YEAR, 5, instant("2013-04-05T23:59"), [2012, 2013]) == [Period.parse("2012-Q4"), Period(2012)]
    assert due(QUARTER_AND_YEAR, 5, instant("2013-04-06T00:00"), [2012, 2013]) == [Period.parse("2013-Q1"), Period(2012)]


def test_months_too_when_the_district_ranks_them():
    assert due(["month"], 0, instant("2013-06-01T00:00"), [2013]) == [Period.parse("2013-05")]
    assert due(["month"], 0, instant("2013-05-31T23:59"), [2013]) == [Period.parse("2013-04")]


def test_only_periods_of_the_assessment_years():
    assert due(QUARTER_AND_YEAR, 5, instant("2014-01-10"), [2013]) == [Period.parse("2013-Q4"), Period(2013)]
    assert due(QUARTER_AND_YEAR, 5, instant("2014-04-10"), [2013]) == [Period(2013)]
    assert due(QUARTER_AND_YEAR, 5, instant("2015-01-10"), [2013]) == []
