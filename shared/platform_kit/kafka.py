"""Kafka clients configured the one way this platform uses them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

from platform_kit.logs import get_logger
from platform_kit.topics import DOMAIN_TOPICS

log = get_logger(__name__)

KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
_DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs' config_source of a value set on the topic itself


def idempotent_producer(bootstrap_servers: str, *, client_id: str | None = None) -> AIOKafkaProducer:
    """A producer that never writes a message twice on its own retries and keeps per-key order.

    ``enable_idempotence`` implies ``acks=all``; batches linger briefly to fill up.
    """
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=512 * 1024,
        request_timeout_ms=30_000,
    )


def group_consumer(
    bootstrap_servers: str,
    *,
    group_id: str,
    max_partition_fetch_bytes: int = 4 * 1024 * 1024,
    auto_offset_reset: str = "earliest",
) -> AIOKafkaConsumer:
    """A group member whose position lives in PostgreSQL, never in Kafka (no auto commit).

    The projection runner passes ``auto_offset_reset="none"``: it seeks every partition
    itself, and a partition it failed to seek must not be read from a guessed offset."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset=auto_offset_reset,
        isolation_level="read_committed",
        max_partition_fetch_bytes=max_partition_fetch_bytes,
        fetch_max_bytes=16 * 1024 * 1024,
    )


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """``consumer.stop()``, finished even when the broker is down.

    aiokafka's stop cancels the requests still waiting for the dead broker and awaits them, and
    such a cancellation can come out of stop() as a CancelledError: the caller would take it for
    its own (a runner told to stop would end as if cancelled) and the client's connections would
    stay open. A cancellation of the caller itself still goes through."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        log.warning("kafka.consumer_stop_interrupted")
        await consumer._client.close()  # the step of stop() the cancellation skipped


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str] = DOMAIN_TOPICS,
    *,
    partitions: int = 3,
    replication_factor: int = 1,
    keep_forever: bool = True,
) -> None:
    """Create the topics that are missing. Event topics keep their history forever, since
    projections in other services are rebuilt from them: one that already exists with a
    retention (auto-created by a producer that came first: a week) is set to keep forever too."""
    config = dict(KEEP_FOREVER) if keep_forever else {}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = list(dict.fromkeys(topics))
        missing = [t for t in wanted if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(t, partitions, replication_factor, topic_configs=config) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass  # another process made it first: that is what we wanted
        if keep_forever and (present := [t for t in wanted if t in existing]):
            await _keep_forever(admin, present)
    finally:
        await admin.close()


async def _keep_forever(admin: AIOKafkaAdminClient, topics: list[str]) -> None:
    """Set existing topics' retention to forever, keeping every other value set on each.

    AlterConfigs (aiokafka has no incremental form) replaces a topic's whole set of
    overrides, so the ones it has are sent back with the retention."""
    [described] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
    changes = []
    for error_code, error_message, _type, topic, entries in described.resources:
        if error_code:
            raise for_code(error_code)(f"{topic}: its configuration could not be read: {error_message}")
        overrides = {name: value for name, value, _ro, source, *_ in entries if source == _DYNAMIC_TOPIC_CONFIG}
        if any(overrides.get(k) != v for k, v in KEEP_FOREVER.items()):
            changes.append(ConfigResource(ConfigResourceType.TOPIC, topic, overrides | KEEP_FOREVER))
            log.warning("kafka.retention_corrected", topic=topic, was={k: overrides.get(k) for k in KEEP_FOREVER})
    if changes:
        [altered] = await admin.alter_configs(changes)
        for error_code, error_message, _type, topic in altered.resources:
            if error_code:
                raise for_code(error_code)(f"{topic}: its retention could not be set to forever: {error_message}")
