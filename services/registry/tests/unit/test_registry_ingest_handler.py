"""The registry's translation of department facts, through the kit's gate, without a broker or
a database: which command a fact becomes, a refusal named as the department wrote it, retries
on a conflict, a bug parked rather than retried for ever, a database failure left to the
redelivery, and the subscriber's hand-off of a rejection to ingest.rejected (FastStream's
test broker, one handler)."""

from __future__ import annotations

import json
import uuid

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from registry_builders import NOW, department_envelope

from platform_kit.contract import catalogue
from platform_kit.event_store import ConcurrencyConflict
from platform_kit.gate import DepartmentGate
from platform_kit.topics import Topics

from registry.domain.commands import MoveResident, ReportBirth
from registry.domain.errors import unknown_resident
from registry.entrypoints import ingest
from registry.service_layer.unit_of_work import Outcome


class Registry:
    """Stands for the service layer: records what it is asked; fails as the test says."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls: list[tuple] = []

    async def decide(self, resident_id, command, origin):
        self.calls.append(("decide", resident_id, command, origin))
        if self.failures:
            raise self.failures.pop(0)
        return Outcome(stream_id=f"resident-{resident_id}", stream_version=4, events=[])

    async def report_birth(self, mother_id, command, origin, *, proposed_child_id=None):
        self.calls.append(("report_birth", mother_id, command, origin, proposed_child_id))
        return Outcome(stream_id=f"resident-{mother_id}", stream_version=4, events=[])


def gate(registry: Registry, topics: Topics | None = None) -> DepartmentGate:
    async def accept(fact):
        await ingest.accept(registry, fact)  # type: ignore[arg-type]

    return DepartmentGate(
        "registry", catalogue=catalogue, topics=topics or Topics(), accept=accept, store=lambda: None,
        conflict_retries=5, clock=lambda: NOW,
    )


def moved(resident: uuid.UUID, **fields) -> bytes:
    return json.dumps(department_envelope("public-security", "ResidentMoved", {
        "resident_id": str(resident), "from_unit": "370402005001", "to_unit": "370402005002"}, **fields)).encode()


async def handle(g: DepartmentGate, department: str, body: bytes):
    return await g.handle(department, body, topic=f"ingest.{department}", partition=0, offset=7)


async def test_a_move_becomes_the_registrys_move_with_ids_derived_from_the_departments():
    registry, resident = Registry(), uuid.uuid4()
    message = moved(resident)
    assert (await handle(gate(registry), "public-security", message)).outcome == "accepted"
    ((_, resident_id, command, origin),) = registry.calls
    assert resident_id == resident and command == MoveResident(from_unit="370402005001", to_unit="370402005002", occurred_at=NOW)
    dept_event_id = uuid.UUID(json.loads(message)["event_id"])
    assert origin.source == "dept:public-security" and origin.causation_id == dept_event_id
    assert origin.event_id(0) == origin.event_id(0) != origin.event_id(1)  # the same on every redelivery


async def test_a_hospital_birth_keeps_the_hospitals_id_for_the_newborn():
    registry, mother, child = Registry(), uuid.uuid4(), uuid.uuid4()
    body = json.dumps(department_envelope("health", "BirthReported", {
        "mother_resident_id": str(mother), "child_resident_id": str(child), "birth_date": "2013-11-28", "sex": "female",
        "reported_by": "hospital", "report_ref": "ZZSLH-2013-11-0457"})).encode()
    assert (await handle(gate(registry), "health", body)).outcome == "accepted"
    ((kind, mother_id, command, _, proposed),) = registry.calls
    assert (kind, mother_id, proposed) == ("report_birth", mother, child) and isinstance(command, ReportBirth)


async def test_a_refusal_names_the_field_as_the_department_wrote_it():
    resident = uuid.uuid4()
    verdict = await handle(gate(Registry(unknown_resident("resident_id", resident))), "public-security", moved(resident))
    assert verdict.outcome == "rejected" and verdict.rejection.field == "payload.resident_id"
    assert "no resident" in verdict.rejection.reason and verdict.rejection.rejected_by == "registry"


async def test_a_department_fact_whose_resident_changed_meanwhile_is_decided_again():
    registry = Registry(*[ConcurrencyConflict("resident-x", 2, 3)] * 2)
    assert (await handle(gate(registry), "public-security", moved(uuid.uuid4()))).outcome == "accepted"
    assert len(registry.calls) == 3


async def test_a_message_the_code_cannot_handle_is_parked_not_retried_for_ever():
    verdict = await handle(gate(Registry(KeyError("bug"))), "public-security", moved(uuid.uuid4()))
    assert verdict.outcome == "rejected" and verdict.rejection.field == "message" and "KeyError" in verdict.rejection.reason


async def test_a_database_that_does_not_answer_is_not_the_messages_fault():
    with pytest.raises(ConnectionRefusedError):
        await handle(gate(Registry(ConnectionRefusedError())), "public-security", moved(uuid.uuid4()))


async def test_the_subscriber_hands_a_rejection_to_ingest_rejected_with_the_original_key():
    broker = KafkaBroker("localhost:9092")
    gate(Registry(unknown_resident("resident_id", uuid.uuid4()))).subscribe(broker)
    received: list[tuple[dict, bytes]] = []

    @broker.subscriber("ingest.rejected")
    async def collect(body: dict, message: KafkaMessage) -> None:
        received.append((body, message.raw_message.key))

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(moved(uuid.uuid4()), "ingest.public-security", key=b"resident-key")

    ((rejection, key),) = received
    assert key == b"resident-key" and rejection["field"] == "payload.resident_id" and rejection["rejected_by"] == "registry"
