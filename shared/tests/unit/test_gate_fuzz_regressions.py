"""What the gate fuzzer (test_gate_fuzz.py) found, one example each."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from platform_kit.contract import catalogue
from platform_kit.gate import DepartmentFact, DepartmentGate
from platform_kit.topics import Topics


def moved(payload: dict | None = None, **overrides) -> bytes:
    event_id = uuid.uuid4()
    message = {
        "event_id": str(event_id), "event_type": "ResidentMoved", "schema_version": 1,
        "stream_id": f"dept-public-security-{event_id}", "stream_version": 1,
        "occurred_at": "2013-06-01T10:00:00+08:00", "recorded_at": "2013-06-01T11:00:00+08:00",
        "unit_code": "370402005002", "source": "dept:public-security", "correlation_id": None, "causation_id": None,
        "payload": {"resident_id": "5f0c9a4e-0000-4000-8000-000000000001", "from_unit": "370402005001",
                    "to_unit": "370402005002"} | (payload or {}),
    } | overrides
    return json.dumps(message).encode()


async def handle(body: bytes):
    facts: list[DepartmentFact] = []

    async def accept(fact: DepartmentFact) -> None:
        facts.append(fact)

    gate = DepartmentGate("registry", catalogue=catalogue, topics=Topics(), accept=accept, store=lambda: None,
                          clock=lambda: datetime(2013, 6, 1, tzinfo=UTC))
    return await gate.handle("public-security", body, topic="ingest.public-security", partition=0, offset=1), facts


async def test_full_width_digits_in_a_payload_code_reach_the_service_as_ascii():
    # Found: '３７０４０２００５００２' matched \d{12} and reached the service as it was.
    verdict, facts = await handle(moved({"to_unit": "３７０４０２００５００２"}))
    assert verdict.outcome == "accepted"
    assert facts[0].payload.to_unit == "370402005002"


async def test_arabic_indic_digits_in_a_payload_code_are_refused_naming_the_field():
    verdict, facts = await handle(moved({"to_unit": "٣٧٠٤٠٢٠٠٥٠٠٢"}))
    assert verdict.outcome == "rejected" and not facts
    assert verdict.rejection.field == "payload.to_unit"


async def test_a_message_nested_too_deep_to_parse_is_refused_not_raised():
    # Found: 100 000 nested arrays made json.loads raise RecursionError out of the gate
    # (before its own try), so the consumer would have retried the message for ever.
    verdict, facts = await handle(b"[" * 100_000 + b"]" * 100_000)
    assert verdict.outcome == "rejected" and not facts
    assert verdict.rejection.field == "message" and verdict.rejection.reason
    assert "failed on it" not in verdict.rejection.reason


async def test_an_envelope_unit_code_in_full_width_digits_reaches_the_service_in_ascii():
    # Found: the envelope's own ^\d{12}$ let '３７０４０２００５００２' through to the service as it was.
    # People type full-width digits: normalised (NFKC), then validated.
    verdict, facts = await handle(moved(unit_code="３７０４０２００５００２"))
    assert verdict.outcome == "accepted"
    assert facts[0].envelope.unit_code == "370402005002"


async def test_an_envelope_unit_code_in_other_scripts_digits_is_refused_naming_unit_code():
    verdict, facts = await handle(moved(unit_code="٣٧٠٤٠٢٠٠٥٠٠٢"))
    assert verdict.outcome == "rejected" and not facts
    assert verdict.rejection.field == "unit_code"


def permit(**payload) -> bytes:
    body = json.loads(moved(event_type="ResidencePermitIssued"))
    body["payload"] = {"resident_id": "5f0c9a4e-0000-4000-8000-000000000001", "permit_ref": "P-1",
                       "issued_on": "2013-03-01", "valid_until": "2014-03-01"} | payload
    return json.dumps(body, ensure_ascii=True).encode()


async def test_a_nul_in_text_is_refused_naming_the_field():
    # Found: 'a\x00b' was accepted; PostgreSQL cannot store a NUL in text or jsonb, so the
    # append would have failed on every redelivery.
    verdict, facts = await handle(permit(permit_ref="P-\x001"))
    assert verdict.outcome == "rejected" and not facts
    assert verdict.rejection.field == "payload.permit_ref" and "NUL" in verdict.rejection.reason


async def test_an_unpaired_surrogate_in_text_is_refused():
    # A guard, not a finding: the envelope's JSON parser already refuses it (field "message").
    verdict, facts = await handle(permit(permit_ref="P-\ud8001"))
    assert verdict.outcome == "rejected" and not facts
    assert verdict.rejection.field == "message" and verdict.rejection.reason == "is not valid JSON"


async def test_a_date_outside_the_contracts_bounds_is_refused_naming_the_field():
    for extreme in ("0001-01-01", "9999-12-31"):
        verdict, facts = await handle(permit(valid_until=extreme))
        assert verdict.outcome == "rejected" and not facts, extreme
        assert verdict.rejection.field == "payload.valid_until", extreme
