"""``rules.reached`` (the projection's quick answer to "which periods can these facts change?")
says what ``rules.can_change`` (the rule's definition) says for every fact and period."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.domain.facts import MARITAL, MOVED, REGISTERED, RETURNED, SERVICE, SURVEY, Fact
from assessment.domain.periods import periods_of_years
from assessment.domain.rules import can_change, reached
from platform_kit.calendar import DISTRICT_TZ

PERIODS = periods_of_years([2012, 2013])
START = datetime(2011, 12, 1, tzinfo=DISTRICT_TZ)
# Instants on and around period boundaries as well as anywhere: the edges are where a
# half-open window is easiest to get wrong.
EDGES = [p.start + d for p in PERIODS for d in (timedelta(0), timedelta(microseconds=-1))]
instants = st.one_of(st.sampled_from(EDGES), st.integers(0, 800 * 24 * 3600).map(lambda s: START + timedelta(seconds=s)))


@st.composite
def facts(draw) -> Fact:
    kind = draw(st.sampled_from([SERVICE, SURVEY, MOVED, MARITAL, REGISTERED, RETURNED]))
    data = {"person": str(uuid.uuid4())} if kind == REGISTERED and draw(st.booleans()) else {}
    at = draw(instants)
    return Fact(uuid.uuid4(), uuid.uuid4(), kind, at, at, (), data)


@settings(max_examples=300, deadline=None)
@given(st.lists(facts(), max_size=6))
def test_the_periods_reached_are_those_can_change_names(some):
    assert reached(some, PERIODS) == [p for p in PERIODS if any(can_change(f, p.start, p.end) for f in some)]
