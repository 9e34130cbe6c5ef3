"""The ingest's decisions about one message, without a broker or a database: retries on a
conflict, and the subscriber's hand-off of a rejection to ingest.rejected (FastStream's test
broker, one handler)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from registry_builders import NOW, department_envelope

from platform_kit.event_store import ConcurrencyConflict
from platform_kit.topics import Topics
from registry.entrypoints.ingest import DepartmentIngest, Verdict, registry_broker
from registry.messages import IngestRejection
from registry.service import Outcome


class FakeStore:
    table = "registry.events"

    class pool:  # noqa: N801 - stands for an asyncpg pool
        @staticmethod
        async def fetchval(*_args):
            return None  # nothing stored yet


class RegistryThatConflicts:
    """The resident changes under the first two attempts."""

    store = FakeStore()

    def __init__(self) -> None:
        self.attempts = 0

    async def decide(self, resident_id, command, origin):
        self.attempts += 1
        if self.attempts < 3:
            raise ConcurrencyConflict(f"resident-{resident_id}", 2, 3)
        return Outcome(stream_id=f"resident-{resident_id}", stream_version=4, events=[])


def moved(resident: uuid.UUID) -> bytes:
    return json.dumps(department_envelope("public-security", "ResidentMoved", {
        "resident_id": str(resident), "from_unit": "370402005001", "to_unit": "370402005002"})).encode()


async def test_a_department_fact_whose_resident_changed_meanwhile_is_decided_again():
    registry = RegistryThatConflicts()
    ingest = DepartmentIngest(registry, lambda: NOW, conflict_retries=5)  # type: ignore[arg-type]
    verdict = await ingest.handle("public-security", moved(uuid.uuid4()), topic="ingest.public-security", partition=0, offset=7)
    assert verdict.outcome == "accepted" and registry.attempts == 3


class RegistryWithABug:
    store = FakeStore()

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def decide(self, resident_id, command, origin):
        raise self.error


async def test_a_message_the_code_cannot_handle_is_parked_not_retried_for_ever():
    ingest = DepartmentIngest(RegistryWithABug(KeyError("bug")), lambda: NOW)  # type: ignore[arg-type]
    verdict = await ingest.handle("public-security", moved(uuid.uuid4()), topic="ingest.public-security", partition=0, offset=7)
    assert verdict.outcome == "rejected" and verdict.rejection.field == "message" and "KeyError" in verdict.rejection.reason


async def test_a_database_that_does_not_answer_is_not_the_messages_fault():
    ingest = DepartmentIngest(RegistryWithABug(ConnectionRefusedError()), lambda: NOW)  # type: ignore[arg-type]
    with pytest.raises(ConnectionRefusedError):
        await ingest.handle("public-security", moved(uuid.uuid4()), topic="ingest.public-security", partition=0, offset=7)


class Rejecting:
    async def handle(self, department, body, *, topic, partition, offset) -> Verdict:
        return Verdict("rejected", rejection=IngestRejection(
            rejected_at=datetime(2013, 12, 1), topic=topic, partition=partition, offset=offset,
            field="payload.to_unit", reason="370402999999 is not a unit of 市中区", original=body.decode()))


async def test_the_subscriber_hands_a_rejection_to_ingest_rejected_with_the_original_key():
    broker = registry_broker(lambda: Rejecting(), "localhost:9092", Topics())  # type: ignore[arg-type,return-value]
    received: list[tuple[dict, bytes]] = []

    @broker.subscriber("ingest.rejected")
    async def collect(body: dict, message: KafkaMessage) -> None:
        received.append((body, message.raw_message.key))

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(moved(uuid.uuid4()), "ingest.public-security", key=b"resident-key")

    ((rejection, key),) = received
    assert key == b"resident-key" and rejection["field"] == "payload.to_unit" and rejection["rejected_by"] == "registry"
