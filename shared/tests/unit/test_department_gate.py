"""The kit's department gate decides what becomes of a department's message, the same way
for every service: accepted, ignored, a duplicate, or rejected naming each field at fault."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from platform_kit.contract import catalogue
from platform_kit.event_store import DuplicateEvent
from platform_kit.gate import DepartmentFact, DepartmentGate, fact_event_id
from platform_kit.problems import Refusal
from platform_kit.topics import Topics

RESIDENT = uuid.UUID("5f0c9a4e-0000-4000-8000-000000000001")


def moved(**overrides) -> bytes:
    event_id = uuid.uuid4()
    message = {
        "event_id": str(event_id), "event_type": "ResidentMoved", "schema_version": 1,
        "stream_id": f"dept-public-security-{event_id}", "stream_version": 1,
        "occurred_at": "2013-06-01T10:00:00+08:00", "recorded_at": "2013-06-01T11:00:00+08:00",
        "unit_code": "370402005002", "source": "dept:public-security",
        "correlation_id": None, "causation_id": None,
        "payload": {"resident_id": str(RESIDENT), "from_unit": "370402005001", "to_unit": "370402005002"},
    }
    message.update(overrides)
    return json.dumps(message).encode()


class Recorder:
    def __init__(self, fail: Exception | None = None) -> None:
        self.facts: list[DepartmentFact] = []
        self.fail = fail

    async def __call__(self, fact: DepartmentFact) -> None:
        self.facts.append(fact)
        if self.fail is not None:
            raise self.fail


def gate(service: str, accept) -> DepartmentGate:
    return DepartmentGate(
        service, catalogue=catalogue, topics=Topics(), accept=accept, store=lambda: None,
        clock=lambda: datetime(2013, 6, 1, tzinfo=UTC),
    )


async def handle(g: DepartmentGate, body: bytes, department: str = "public-security"):
    return await g.handle(department, body, topic=f"ingest.{department}", partition=0, offset=7)


async def test_a_routed_fact_is_handed_to_its_owner_with_ids_that_do_not_change_on_redelivery():
    accept = Recorder()
    body = moved()
    verdict = await handle(gate("registry", accept), body)
    again = await handle(gate("registry", accept), body)
    assert (verdict.outcome, again.outcome) == ("accepted", "accepted")
    first, second = accept.facts
    assert first.payload.to_unit == "370402005002"
    assert first.source == "dept:public-security"
    assert first.event_id(0) == second.event_id(0) == fact_event_id("public-security", first.envelope.event_id, 0)
    assert first.event_id(0) != first.event_id(1)
    assert first.new_id() == second.new_id()


async def test_not_json_is_refused_by_the_gatekeeper_and_left_alone_by_the_others():
    refused = await handle(gate("registry", Recorder()), b"{not json")
    assert refused.outcome == "rejected"
    assert refused.rejection.field == "message" and refused.rejection.rejected_by == "registry"
    assert (await handle(gate("services-log", Recorder()), b"{not json", "health")).outcome == "ignored"


async def test_every_payload_field_at_fault_is_named():
    body = moved(payload={"resident_id": "not-a-uuid", "from_unit": "370402005001", "to_unit": "３７０４０２"})
    verdict = await handle(gate("registry", Recorder()), body)
    assert verdict.outcome == "rejected"
    fields = [p.field for p in verdict.rejection.errors]
    assert "payload.resident_id" in fields and "payload.to_unit" in fields
    assert verdict.rejection.field == fields[0]


async def test_the_wrong_source_and_an_unrouted_type_are_refused_with_the_reason():
    wrong_source = await handle(gate("registry", Recorder()), moved(source="dept:health"))
    assert (wrong_source.rejection.field, wrong_source.outcome) == ("source", "rejected")
    unrouted = await handle(gate("registry", Recorder()), moved(event_type="TrainingHeld"))
    assert unrouted.rejection.field == "event_type"
    assert "not accepted from public-security" in unrouted.rejection.reason


async def test_a_fact_for_another_service_is_ignored():
    body = moved(event_type="TrainingHeld", source="dept:hr")
    assert (await handle(gate("registry", Recorder()), body, "hr")).outcome == "ignored"


async def test_the_services_refusal_becomes_a_rejection_naming_its_field():
    accept = Recorder(fail=Refusal("payload.to_unit", "is where the resident lives already"))
    verdict = await handle(gate("registry", accept), moved())
    assert verdict.outcome == "rejected"
    assert (verdict.rejection.field, verdict.rejection.reason) == ("payload.to_unit", "is where the resident lives already")


async def test_a_duplicate_the_store_refuses_is_a_duplicate_not_a_rejection():
    verdict = await handle(gate("registry", Recorder(fail=DuplicateEvent([uuid.uuid4()]))), moved())
    assert verdict.outcome == "duplicate"


async def test_a_bug_met_by_a_message_parks_it_instead_of_blocking_the_partition():
    verdict = await handle(gate("registry", Recorder(fail=KeyError("oops"))), moved())
    assert verdict.outcome == "rejected" and verdict.rejection.field == "message"


async def test_a_failing_database_is_not_the_messages_fault_and_is_raised_for_a_retry():
    import asyncpg

    with pytest.raises(asyncpg.PostgresConnectionError):
        await handle(gate("registry", Recorder(fail=asyncpg.PostgresConnectionError("down"))), moved())


async def test_personal_data_in_a_rejected_message_is_masked():
    body = moved(payload={"resident_id": str(RESIDENT), "id_number": "370402198803150021", "name": "王秀英"})
    verdict = await handle(gate("registry", Recorder()), body)
    assert "370402198803150021" not in verdict.rejection.original
    assert "王秀英" not in verdict.rejection.original
