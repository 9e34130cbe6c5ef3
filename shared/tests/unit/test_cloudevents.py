"""The CloudEvents headers of an event, from the envelope or from the JSON the relay holds."""

from __future__ import annotations

from platform_kit import cloudevents
from platform_kit.testing import service_delivered

def test_the_envelope_and_its_json_give_the_same_headers():
    event = service_delivered("resident-1", 1)
    assert cloudevents.headers(event) == cloudevents.headers(event.model_dump_json())


def test_the_binding_attributes_carry_ids_types_and_the_system_time_only():
    event = service_delivered("resident-1", 1)
    headers = dict(cloudevents.headers(event))
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_id"] == str(event.event_id).encode()
    assert headers["ce_type"] == event.event_type.encode()
    assert headers["ce_subject"] == b"resident-1"
    assert headers["ce_source"] == b"/migrant-services/" + event.source.encode()
    assert headers["ce_time"].decode().startswith(event.recorded_at.isoformat()[:19])
    assert headers["content-type"] == b"application/json"
    assert headers["correlation_id"] == str(event.correlation_id).encode()
    values = b"|".join(headers.values())  # the payload (personal data, maybe) never goes in a header
    assert not any(str(v).encode() in values for v in event.payload.values() if len(str(v)) > 3)
    assert set(headers) <= {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time",
                            "ce_occurredat", "content-type", "correlation_id"}
