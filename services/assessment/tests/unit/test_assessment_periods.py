"""Periods are China Standard Time calendar periods; the two clocks cut history."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assessment.domain.periods import PERIOD_PATTERN, Clocks, Period, parse_instant, periods_containing, previous
from platform_kit.calendar import DISTRICT_TZ


class TestPeriods:
    @pytest.mark.parametrize("text", ["2013", "2013-Q2", "2013-05", "2013-12", "2013-Q4"])
    def test_a_period_reads_back_as_written(self, text):
        assert str(Period.parse(text)) == text

    @pytest.mark.parametrize("text", ["13", "2013-Q5", "2013-13", "2013-5", "2013/05", "2013-Q", "2013\n"])
    def test_anything_else_is_refused_with_the_reason(self, text):
        with pytest.raises(ValueError, match="period: .* is not a year"):
            Period.parse(text)

    @pytest.mark.parametrize("text", ["0001", "1899", "3000-Q1", "9999-12"])
    def test_a_year_the_calendar_cannot_hold_is_refused(self, text):
        with pytest.raises(ValueError, match="period: the year must be between 1900 and 2999"):
            Period.parse(text)

    @given(st.from_regex(r"[0-9]{4}(-Q[0-9]|-[0-9]{1,2})?", fullmatch=True) | st.text(max_size=9))
    def test_the_openapi_pattern_is_the_grammar_the_code_reads(self, text):
        try:
            Period.parse(text)
            parsed = True
        except ValueError as error:
            parsed = "year must be between" in str(error)  # the pattern lets it by; the range refuses it
        assert parsed == bool(re.fullmatch(PERIOD_PATTERN, text))

    def test_an_instant_the_calendar_cannot_hold_is_refused_naming_the_clock(self):
        for text in ("9999-12-31", "0001-01-01T00:00:00+08:00", "1899-12-31"):
            with pytest.raises(ValueError, match="^as_of: "):
                parse_instant(text, field="as_of")

    def test_the_fourth_quarter_ends_when_the_new_year_begins_in_china(self):
        q4 = Period.parse("2013-Q4")
        assert (q4.start, q4.end) == (datetime(2013, 10, 1, tzinfo=DISTRICT_TZ), datetime(2014, 1, 1, tzinfo=DISTRICT_TZ))

    def test_a_year_contains_its_quarters_and_months_and_not_the_other_way(self):
        assert Period.parse("2013").contains(Period.parse("2013-05"))
        assert Period.parse("2013-Q2").contains(Period.parse("2013-05"))
        assert not Period.parse("2013-05").contains(Period.parse("2013-Q2"))
        assert not Period.parse("2013-Q3").contains(Period.parse("2013-05"))

    def test_new_years_eve_at_midnight_utc_is_already_new_year_in_the_district(self):
        instant = datetime.fromisoformat("2013-12-31T16:30:00+00:00")
        assert [str(p) for p in periods_containing(instant)] == ["2014", "2014-Q1", "2014-01"]

    @pytest.mark.parametrize("text, before", [("2013-01", "2012-12"), ("2013-Q1", "2012-Q4"), ("2013-07", "2013-06"), ("2013", "2012")])
    def test_the_previous_period_is_of_the_same_kind(self, text, before):
        assert str(previous(Period.parse(text))) == before


class TestClocks:
    def test_a_date_means_the_end_of_that_day(self):
        end = parse_instant("2013-12-31", field="as_of")
        assert end.astimezone(DISTRICT_TZ).isoformat() == "2013-12-31T23:59:59.999999+08:00"

    def test_as_of_cuts_the_window_and_nothing_before_the_period_is_a_window(self):
        clocks = Clocks(as_of=parse_instant("2013-05-15", field="as_of"))
        window = clocks.window(Period.parse("2013-Q2"))
        assert (window.start, window.end) == (datetime(2013, 4, 1, tzinfo=DISTRICT_TZ), datetime(2013, 5, 16, tzinfo=DISTRICT_TZ))
        assert clocks.window(Period.parse("2013-Q3")) is None

    def test_known_at_sees_only_what_was_recorded_by_then(self):
        clocks = Clocks(known_at=parse_instant("2013-12-31", field="known_at"))
        december, march = datetime(2013, 12, 20, 9, tzinfo=DISTRICT_TZ), datetime(2014, 3, 5, 9, tzinfo=DISTRICT_TZ)
        assert clocks.sees(december, december)
        assert not clocks.sees(december, march)

    def test_an_unreadable_clock_names_itself(self):
        with pytest.raises(ValueError, match="known_at: 'yesterday'"):
            parse_instant("yesterday", field="known_at")
