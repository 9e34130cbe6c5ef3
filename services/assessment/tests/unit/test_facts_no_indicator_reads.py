"""Facts of a kind no indicator reads (a leaflet handed out, when nothing counts leaflets) are
stored and skip the projection's computation; the live view still equals a recomputation, also
when a correction makes such a service one of a kind that is read."""

from __future__ import annotations

import pytest
from assessment_histories import INDICATORS, PERIODS, facts_in, kept_live

from assessment.domain.coverage import from_scratch, that_can_move
from assessment.domain.facts import by_subject
from assessment_examples import JIANSHE
from assessment_testing import History
from test_corrections import correction

pytestmark = pytest.mark.unit


def a_leaflet() -> tuple[History, object]:
    h = History()
    h.registered("li_na", unit=JIANSHE, at="2013-01-15", born="1985-06-01")
    return h, h.served("li_na", "policy_publicity", by=JIANSHE, at="2013-05-03")


def test_a_service_of_a_kind_no_indicator_reads_moves_nothing_and_is_passed_by():
    h, leaflet = a_leaflet()
    assert [f.event_id for f in that_can_move(facts_in([leaflet]), INDICATORS)] == []
    assert [f.event_id for f in that_can_move(facts_in(h.events[:1]), INDICATORS)] == [h.events[0].event_id]
    assert kept_live([h.events[:1], [leaflet]]) == from_scratch(by_subject(facts_in(h.events)), PERIODS, INDICATORS)


@pytest.mark.parametrize("together", [True, False])
def test_a_leaflet_corrected_into_a_pregnancy_check_counts_as_one(together):
    h, leaflet = a_leaflet()
    fixed = correction(leaflet, service_kind="pregnancy_check")
    batches = [[*h.events, fixed]] if together else [h.events, [fixed]]
    expected = from_scratch(by_subject(facts_in([*h.events, fixed])), PERIODS, INDICATORS)
    assert any(cell[1] == "free_pregnancy_checks" and n == 1 for cell, (n, _) in expected.items())
    assert kept_live(batches) == expected
