"""One services log, running against the real broker and database in its own schema and topic
namespace, with the registry and the departments around it publishing as they would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from platform_kit.envelope import Envelope
from platform_kit.projection import ProjectionRunner
from platform_kit.testing import bearer, read_topic_to_end, wait_until
from platform_kit.topics import Topics
from services_log.bootstrap import ServicesLog, build
from services_log.settings import ServicesLogSettings
from services_log_facts import RegistryFacts


def settings_for(stack, schema: str, namespace: str, replica: str | None = None) -> ServicesLogSettings:
    return ServicesLogSettings(
        kafka_bootstrap_servers=stack.bootstrap_servers,
        database_url=stack.database_url,
        topic_namespace=namespace,
        database_schema=schema,
        relay_idle_poll_seconds=0.05,
        ingest_session_timeout_ms=6_000,
        ingest_retry_seconds=0.2,
        ingest_instance_id=replica,
    )


@dataclass
class Harness:
    stack: object
    schema: str
    namespace: str
    producer: AIOKafkaProducer
    service: ServicesLog | None = None
    http: httpx.AsyncClient | None = None
    registry: RegistryFacts = field(default_factory=RegistryFacts)
    replica: str | None = None  # a stable replica name takes its partitions back at once
    before_the_test: set[str] = field(default_factory=set)  # streams the fixture wrote (the roster)

    @property
    def topics(self) -> Topics:
        return Topics(self.namespace)

    @property
    def settings(self) -> ServicesLogSettings:
        return settings_for(self.stack, self.schema, self.namespace, self.replica)

    async def start(self) -> None:
        self.service = build(self.settings)
        await self.service.runtime.start()
        transport = httpx.ASGITransport(app=self.service.app)
        self.http = httpx.AsyncClient(transport=transport, base_url="http://services-log", headers=bearer())

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.aclose()
        if self.service is not None:
            await self.service.runtime.stop()
        self.service = self.http = None

    # --- what the registry and the departments do -------------------------------------------

    async def registry_publishes(self, *events: Envelope) -> None:
        """The registry's events reach registry.events; returns once the view has applied them."""
        await self.publish(self.topics.registry_events, events)
        await self.view_caught_up()

    async def publish(self, topic: str, messages: Sequence[Envelope | bytes], *, key: bytes = b"dept") -> None:
        sends = []
        for message in messages:
            value, message_key = (message.to_bytes(), message.key) if isinstance(message, Envelope) else (message, key)
            sends.append(await self.producer.send(topic, value=value, key=message_key))
        await asyncio.gather(*sends)

    async def department_sends(self, department: str, *messages: Envelope | bytes) -> None:
        """A department publishes to ingest.<department>; returns once the services log has
        taken every message on that topic (its consumer group's offsets are at the end)."""
        await self.publish(self.topics.ingest(department), messages)
        await self.ingest_caught_up(department)

    # --- waiting for the asynchronous parts ----------------------------------------------------

    @property
    def view_runner(self) -> ProjectionRunner:
        assert self.service is not None
        return self.service.runtime.runners[0]

    async def view_caught_up(self) -> None:
        total = len(await read_topic_to_end(self.stack.bootstrap_servers, self.topics.registry_events))

        async def at_end() -> bool:
            return sum((await self.view_runner.stored_positions()).values()) >= total

        await wait_until(at_end, timeout=60, what="the registry view at the end of registry.events")

    async def ingest_caught_up(self, department: str, *, timeout: float = 60) -> None:
        topic = self.topics.ingest(department)
        group = f"{self.namespace}services-log.ingest.{department}"
        admin = AIOKafkaAdminClient(bootstrap_servers=self.stack.bootstrap_servers)
        await admin.start()
        try:
            ends = await _end_offsets(self.stack.bootstrap_servers, topic)

            async def at_end() -> bool:
                committed = await admin.list_consumer_group_offsets(group)
                return all((committed[tp].offset if tp in committed else 0) >= end for tp, end in ends.items())

            await wait_until(at_end, timeout=timeout, what=f"{group} at the end of {topic}")
        finally:
            await admin.close()

    # --- what came of it -------------------------------------------------------------------------

    async def put_on_roster(self, *staff_refs: str, unit_code: str = "370402005001") -> None:
        """The district's staff, there before the test begins: what the test then records is
        all that ``stored_events`` and ``published`` show."""
        for staff_ref in staff_refs:
            answer = await self.http.post("/api/staff", json={
                "staff_ref": staff_ref, "unit_code": unit_code, "role": "manager", "name": "张丽",
                "assigned_on": "2013-01-01",
            })
            assert answer.status_code == 201, answer.text
            self.before_the_test.add(f"staff-{staff_ref}")

    async def stored_events(self, event_type: str | None = None) -> list[Envelope]:
        assert self.service is not None and self.service.runtime.store is not None
        recorded = await self.service.runtime.store.read_all(limit=100_000)
        return [
            r.event for r in recorded
            if (event_type is None or r.event.event_type == event_type) and r.event.stream_id not in self.before_the_test
        ]

    async def rejections(self) -> list[dict]:
        records = await read_topic_to_end(self.stack.bootstrap_servers, self.topics.ingest_rejected)
        return [json.loads(record.value) for record in records]

    async def published(self) -> list[Envelope]:
        records = await read_topic_to_end(self.stack.bootstrap_servers, self.topics.services_events)
        events = [Envelope.from_bytes(record.value) for record in records]
        return [e for e in events if e.stream_id not in self.before_the_test]


async def _end_offsets(bootstrap_servers: str, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        return await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
    finally:
        await consumer.stop()


