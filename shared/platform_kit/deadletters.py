"""Dead letters: what a consumer parked, and sending it back once the cause is fixed.

A projection parks what it cannot apply on ``deadletter.<schema>.<projection>`` (created
explicitly with the platform's partitioning, kept forever) with the original bytes and key and
the headers ``reason``, ``stage``, ``consumer``, ``original_topic``, ``original_partition``,
``original_offset`` and, when the envelope could be read, ``event_id``. Once the cause is fixed
(a projection bug, a missing upcaster), :func:`replay` publishes the parked records back to
their original topics. The consumer applies a replayed event once: it remembers the ids it
parked (``parked_events``) and forgets each when it applies it, so replaying twice is harmless.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from platform_kit.envelope import Envelope
from platform_kit.kafka import idempotent_producer
from platform_kit.logs import get_logger

log = get_logger(__name__)


@dataclass
class ReplayReport:
    replayed: int = 0
    skipped: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)
    event_ids: list[uuid.UUID] = field(default_factory=list)


def _event_id(headers: dict[str, bytes], value: bytes | None) -> uuid.UUID | None:
    if "event_id" in headers:
        return uuid.UUID(headers["event_id"].decode())
    try:
        return Envelope.from_bytes(value or b"").event_id
    except ValueError:
        return None


async def replay(
    bootstrap_servers: str,
    dead_letter_topic: str,
    *,
    event_ids: Iterable[uuid.UUID | str] | None = None,
    producer: AIOKafkaProducer | None = None,
    timeout: float = 60.0,
) -> ReplayReport:
    """Publish the records parked on ``dead_letter_topic`` (up to its end as of now) back to
    their ``original_topic`` with their original key; only those whose event id is in
    ``event_ids`` when it is given. Returns what was replayed."""
    wanted = None if event_ids is None else {uuid.UUID(str(i)) for i in event_ids}
    own = producer is None
    if producer is None:
        producer = idempotent_producer(bootstrap_servers, client_id="deadletter-replay")
        await producer.start()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    report = ReplayReport()
    try:
        partitions = [TopicPartition(dead_letter_topic, p) for p in sorted(consumer.partitions_for_topic(dead_letter_topic) or [])]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [
                TopicPartition(dead_letter_topic, p) for p in sorted(consumer.partitions_for_topic(dead_letter_topic) or [])
            ]
        if not partitions:
            raise LookupError(f"dead_letter_topic: {dead_letter_topic!r} does not exist")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout
        sends = []
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dead_letter_topic}: not read to its end within {timeout}s")
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    headers = {k: v for k, v in record.headers}
                    original = headers.get("original_topic")
                    event_id = _event_id(headers, record.value)
                    if original is None or (wanted is not None and event_id not in wanted):
                        report.skipped += 1
                        continue
                    topic = original.decode()
                    sends.append(
                        await producer.send(
                            topic, value=record.value, key=record.key,
                            headers=[("replayed_from", f"{dead_letter_topic}/{tp.partition}/{record.offset}".encode())],
                        )
                    )
                    report.replayed += 1
                    report.by_topic[topic] = report.by_topic.get(topic, 0) + 1
                    if event_id is not None:
                        report.event_ids.append(event_id)
        for send in sends:
            await send
        log.info("deadletters.replayed", topic=dead_letter_topic, replayed=report.replayed, skipped=report.skipped)
        return report
    finally:
        await consumer.stop()
        if own:
            await producer.stop()
