"""Kafka clients configured the one way this platform uses them."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from platform_kit.topics import DOMAIN_TOPICS


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


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str] = DOMAIN_TOPICS,
    *,
    partitions: int = 3,
    replication_factor: int = 1,
    keep_forever: bool = True,
) -> None:
    """Create the topics that are missing. Event topics keep their history forever, since
    projections in other services are rebuilt from them."""
    config = {"retention.ms": "-1", "retention.bytes": "-1"} if keep_forever else {}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in dict.fromkeys(topics) if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(t, partitions, replication_factor, topic_configs=config) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass  # another process made it first: that is what we wanted
    finally:
        await admin.close()
