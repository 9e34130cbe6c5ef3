"""The envelope and the catalogue: the contract every message keeps (no I/O)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from platform_kit.catalogue import EventCatalogue, UnknownEventType, UnsupportedSchemaVersion
from platform_kit.envelope import Envelope
from platform_kit.testing import service_delivered


def a_moved_event(**changes):
    fields = dict(
        event_type="ResidentMoved",
        stream_id=f"resident-{uuid.uuid4()}",
        stream_version=2,
        unit_code="370402005001",
        source="registry",
        payload={"from_unit": "370402005001", "to_unit": "370402005002"},
        occurred_at=datetime(2013, 12, 3, 9, 30, tzinfo=UTC),
    )
    fields.update(changes)
    return Envelope.new(**fields)


class TestEnvelope:
    def test_round_trips_through_bytes_unchanged(self):
        event = a_moved_event()
        assert Envelope.from_bytes(event.to_bytes()) == event

    def test_a_new_event_starts_its_own_correlation(self):
        event = a_moved_event()
        assert event.correlation_id == event.event_id and event.causation_id is None

    def test_a_caused_event_names_its_cause_and_keeps_the_correlation(self):
        cause = a_moved_event()
        effect = cause.caused(
            event_type="CoverageChanged", stream_id="coverage-370402005001", stream_version=1,
            unit_code="370402005001", source="assessment", payload={}, occurred_at=cause.occurred_at,
        )
        assert effect.causation_id == cause.event_id and effect.correlation_id == cause.correlation_id

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("unit_code", "3704"),
            ("source", "hospital"),
            ("stream_id", "Resident 1"),
            ("stream_version", 0),
            ("event_type", "resident_moved"),
            ("occurred_at", datetime(2013, 12, 3, 9, 30)),
        ],
    )
    def test_a_bad_field_is_named_in_the_error(self, field, value):
        with pytest.raises(ValidationError) as error:
            a_moved_event(**{field: value})
        assert [e["loc"][0] for e in error.value.errors()] == [field]

    def test_departments_publish_under_their_own_source(self):
        assert a_moved_event(source="dept:public-security").source == "dept:public-security"

    def test_unknown_fields_are_refused(self):
        document = json.loads(a_moved_event().to_bytes())
        document["secret"] = "x"
        with pytest.raises(ValidationError, match="secret"):
            Envelope.from_bytes(json.dumps(document))

    def test_the_sample_event_is_of_realistic_size(self):
        assert 500 <= len(service_delivered("resident-1", 1).to_bytes()) <= 900

    def test_the_sample_event_keeps_the_contract(self):
        from platform_kit.contract import catalogue

        for index in range(4):
            catalogue.validate(service_delivered("resident-1", 1, index=index))


catalogue = EventCatalogue()


@catalogue.event("ResidentMoved", version=3)
class ResidentMoved(BaseModel):
    from_unit: str
    to_unit: str
    reason: str


@catalogue.upcaster("ResidentMoved", from_version=1)
def _name_the_units(payload):
    return {"from_unit": payload["from"], "to_unit": payload["to"]}


@catalogue.upcaster("ResidentMoved", from_version=2)
def _give_a_reason(payload):
    return {**payload, "reason": "unknown"}


class TestCatalogue:
    def test_old_history_is_read_in_the_current_shape(self):
        v1 = a_moved_event(schema_version=1, payload={"from": "370402005001", "to": "370402005002"})
        assert catalogue.load(v1) == ResidentMoved(from_unit="370402005001", to_unit="370402005002", reason="unknown")
        assert catalogue.upcast(v1).schema_version == 3

    def test_current_events_pass_untouched(self):
        v3 = a_moved_event(schema_version=3, payload={"from_unit": "a", "to_unit": "b", "reason": "work"})
        assert catalogue.upcast(v3) is v3

    def test_a_version_from_the_future_is_refused(self):
        with pytest.raises(UnsupportedSchemaVersion, match="schema_version"):
            catalogue.upcast(a_moved_event(schema_version=4))

    def test_an_unknown_type_is_named(self):
        with pytest.raises(UnknownEventType, match="ResidentTeleported"):
            catalogue.load(a_moved_event(event_type="ResidentTeleported"))

    def test_a_payload_that_does_not_fit_its_model_is_refused(self):
        with pytest.raises(ValidationError, match="to_unit"):
            catalogue.validate(a_moved_event(schema_version=3, payload={"from_unit": "a", "reason": "x"}))
