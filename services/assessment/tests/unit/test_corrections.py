"""A correction names the service event it corrects: figures as known before it still count the
original; as known after, a withdrawn service counts for nothing and a corrected kind counts
for its right kind. History is never edited: both events stay, and the facts say which wins."""

from __future__ import annotations

from datetime import datetime

from assessment.domain.audit_figures import unit_figures
from assessment.domain.periods import DISTRICT_TZ, Clocks, Period
from assessment.settings import DEFAULT_RULES, load_rules
from assessment_examples import JIANSHE
from assessment_testing import History
from platform_kit.envelope import Envelope
from platform_kit.units import unit_tree

RULES = load_rules(DEFAULT_RULES)
BEFORE, AFTER = datetime(2014, 1, 31, tzinfo=DISTRICT_TZ), datetime(2014, 2, 28, tzinfo=DISTRICT_TZ)


def correction(service: Envelope, **change) -> Envelope:
    return Envelope.new(
        event_type="ServiceCorrected", stream_id=service.stream_id, stream_version=2, unit_code=service.unit_code,
        source="services-log", occurred_at=service.occurred_at, recorded_at=datetime(2014, 2, 10, 9, tzinfo=DISTRICT_TZ),
        payload={
            "service_id": service.payload["service_id"], "corrects": str(service.event_id),
            "resident_id": service.payload["resident_id"], "reason": "recorded by mistake", "staff_ref": "staff-001",
            "withdrawn": False, "service_kind": None, **change,
        },
    )


def figures(events, known_at) -> dict:
    return unit_figures(events, RULES, unit_tree(), JIANSHE, Period.parse("2013"), Clocks(known_at=known_at))


def a_year() -> tuple[History, Envelope]:
    h = History()
    h.registered("li_na", unit=JIANSHE, at="2013-01-15", born="1985-06-01")
    return h, h.served("li_na", "free_contraceptives", by=JIANSHE, at="2013-05-03")


def test_a_withdrawn_service_counts_until_the_correction_is_known_and_not_after():
    h, service = a_year()
    events = [*h.events, correction(service, withdrawn=True)]
    assert figures(events, BEFORE)["free_contraceptives"] == (1, 1)
    assert figures(events, AFTER)["free_contraceptives"] == (0, 1)


def test_a_corrected_kind_counts_for_its_right_kind():
    h, service = a_year()
    events = [*h.events, correction(service, service_kind="pregnancy_check")]
    before, after = figures(events, BEFORE), figures(events, AFTER)
    assert (before["free_contraceptives"], before["free_pregnancy_checks"]) == ((1, 1), (0, 1))
    assert (after["free_contraceptives"], after["free_pregnancy_checks"]) == ((0, 1), (1, 1))
