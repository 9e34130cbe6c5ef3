"""Hostile department messages through the kit's gate (``DepartmentGate.handle``).

Whatever a department sends, the gate gives a verdict (accepted, ignored, rejected or a
duplicate) and never raises, every rejection names a field and a reason, and a fact it
accepts carries codes of ASCII digits only and dates within the contract's bounds: what the
services then store and compare is what the contract promises.

The hostile values: unicode digits (full-width, Arabic-Indic) in codes, NUL bytes and
unpaired surrogates in text, extreme dates and integers, deeply nested JSON, a 5 MB body,
bytes that are not UTF-8.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platform_kit.contract import catalogue
from platform_kit.contract.common import EARLIEST_DATE, LATEST_DATE
from platform_kit.gate import DepartmentFact, DepartmentGate
from platform_kit.topics import INGEST_ROUTES, Topics

UNIT = "370402005002"
RESIDENT = "5f0c9a4e-0000-4000-8000-000000000001"
OTHER = "5f0c9a4e-0000-4000-8000-000000000002"
# One valid payload per routed type: the fuzzer spoils one of its values at a time.
PAYLOADS: dict[str, dict[str, Any]] = {
    "BirthReported": {"mother_resident_id": RESIDENT, "child_resident_id": OTHER, "birth_date": "2013-05-02",
                      "sex": "female", "reported_by": "hospital", "report_ref": "RH-2013-0001"},
    "ServiceDelivered": {"service_id": OTHER, "service_kind": "pregnancy_check", "resident_id": RESIDENT,
                         "delivered_by_unit": UNIT, "staff_ref": "staff-001", "resident_unit": UNIT},
    "ResidencePermitIssued": {"resident_id": RESIDENT, "permit_ref": "P-1", "issued_on": "2013-03-01",
                              "valid_until": "2014-03-01"},
    "ResidentMoved": {"resident_id": RESIDENT, "from_unit": "370402005001", "to_unit": UNIT},
    "ResidentDeparted": {"resident_id": RESIDENT, "from_unit": UNIT, "destination_place": "370102", "reason": "work"},
    "ChildEnrolled": {"child_resident_id": RESIDENT, "school_name": "市中区实验小学", "school_year": 2013, "grade": 1},
    "MaritalStatusChanged": {"resident_id": RESIDENT, "previous": "single", "marital_status": "married"},
    "TrainingHeld": {"training_id": OTHER, "topic": "政策", "person_times": 3, "trainee_refs": ["staff-001"]},
}
ROUTED = [(dept, event_type) for dept, routes in INGEST_ROUTES.items() for event_type in routes]
SERVICES = sorted({owner for routes in INGEST_ROUTES.values() for owner in routes.values()})

FULL_WIDTH = "３７０４０２００５００２"
ARABIC_INDIC = "٣٧٠٤٠٢٠٠٥٠٠٢"
HOSTILE: list[Any] = [
    FULL_WIDTH, ARABIC_INDIC, "３７０４０２", "37040200500\uff12", "370402\u0665\u0660\u0660\u0660\u0660\u0662",
    "a\x00b", "\x00", "\ud800", "x\udfffy", "0001-01-01", "9999-12-31", "0000-00-00", "１９９０-０１-０１",
    2**63, -(2**63), 2**63 - 1, 10**40, -(10**40), 1e308, float("inf"), None, True, "", " " * 1000,
    [], {}, [[[[[[[[[[[]]]]]]]]]]], {"a": {"b": {"c": {}}}}, "a" * 100_000,
]


def message(department: str, event_type: str, **overrides: Any) -> dict[str, Any]:
    event_id = uuid.uuid4()
    return {
        "event_id": str(event_id), "event_type": event_type, "schema_version": 1,
        "stream_id": f"dept-{department}-{event_id}", "stream_version": 1,
        "occurred_at": "2013-06-01T10:00:00+08:00", "recorded_at": "2013-06-01T11:00:00+08:00",
        "unit_code": UNIT, "source": f"dept:{department}", "correlation_id": None, "causation_id": None,
        "payload": dict(PAYLOADS[event_type]),
    } | overrides


def encode(document: Any) -> bytes:
    # ensure_ascii keeps an unpaired surrogate as its \\ud800 escape: what a careless producer sends.
    return json.dumps(document, ensure_ascii=True, allow_nan=True).encode()


class Recorder:
    def __init__(self) -> None:
        self.facts: list[DepartmentFact] = []

    async def __call__(self, fact: DepartmentFact) -> None:
        self.facts.append(fact)


def gate(service: str, accept: Recorder) -> DepartmentGate:
    return DepartmentGate(
        service, catalogue=catalogue, topics=Topics(), accept=accept, store=lambda: None,
        clock=lambda: datetime(2013, 6, 1, tzinfo=UTC),
    )


def walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in walk(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in walk(v, f"{path}[{i}]")]
    return [(path, value)]


def assert_sound(service: str, verdict, accepted: list[DepartmentFact]) -> None:
    assert verdict.outcome in {"accepted", "ignored", "rejected", "duplicate"}
    if verdict.outcome == "rejected":
        rejection = verdict.rejection
        assert rejection.field and rejection.reason, "a rejection names a field and a reason"
        assert rejection.errors and all(p.field and p.reason for p in rejection.errors)
        # The gate's catch-all ("failed on it") means an exception escaped the contract.
        assert "failed on it" not in rejection.reason, rejection.reason
    for fact in accepted:
        envelope = fact.envelope
        assert envelope.unit_code.isascii() and envelope.unit_code.isdigit()
        for path, value in walk(fact.payload.model_dump()):
            if path.endswith(("unit", "unit_code", "place")) and isinstance(value, str):
                assert value.isascii() and value.isdigit(), f"{path}={value!r} in an accepted fact"
            if isinstance(value, date):
                assert EARLIEST_DATE <= value <= LATEST_DATE, f"{path}={value} in an accepted fact"
            if isinstance(value, str):
                assert "\x00" not in value, f"{path} holds a NUL in an accepted fact"


async def verdicts(body: bytes, department: str) -> list[tuple[str, Any, list[DepartmentFact]]]:
    answers = []
    for service in SERVICES:
        accept = Recorder()
        verdict = await gate(service, accept).handle(department, body, topic=f"ingest.{department}", partition=0, offset=1)
        answers.append((service, verdict, accept.facts))
    return answers


@st.composite
def spoiled(draw) -> tuple[str, bytes]:
    department, event_type = draw(st.sampled_from(ROUTED))
    document = message(department, event_type)
    where = draw(st.sampled_from(["payload", "envelope"]))
    target = document["payload"] if where == "payload" else document
    key = draw(st.sampled_from(sorted(target)))
    target[key] = draw(st.sampled_from(HOSTILE) | st.text(max_size=30) | st.integers())
    return department, encode(document)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spoiled())
async def test_a_spoiled_value_gets_a_verdict_and_an_accepted_fact_keeps_the_contract(case):
    department, body = case
    for service, verdict, accepted in await verdicts(body, department):
        assert_sound(service, verdict, accepted)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(list(INGEST_ROUTES)), st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
async def test_any_bytes_get_a_verdict(department, body):
    for service, verdict, accepted in await verdicts(body, department):
        assert_sound(service, verdict, accepted)


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _deep_payload(depth: int) -> bytes:
    document = message("public-security", "ResidentMoved")
    raw = encode(document).replace(b'"to_unit": "370402005002"', b'"to_unit": ' + _deep(depth))
    return raw


@pytest.mark.parametrize("body", [
    pytest.param(_deep(100_000), id="100000-deep array"),
    pytest.param(_deep_payload(100_000), id="100000-deep value in the payload"),
    pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, id="50000-deep object"),
    pytest.param(encode(message("public-security", "ResidentMoved", padding="x" * 5_000_000)), id="5 MB envelope"),
    pytest.param(b"\xff\xfe\x00{" + b"\xc3\x28" * 10, id="invalid UTF-8"),
    pytest.param(encode(message("public-security", "ResidentMoved"))[:-1] + b'\xff"}', id="invalid UTF-8 in a valid envelope"),
    pytest.param(encode(message("public-security", "ResidentMoved", unit_code=FULL_WIDTH)), id="full-width envelope unit"),
])
async def test_an_extreme_message_gets_a_verdict(body):
    for service, verdict, accepted in await verdicts(body, "public-security"):
        assert_sound(service, verdict, accepted)
