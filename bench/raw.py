"""The raw limits: the same work with the plain clients and nothing of the kit. A stage of
the kit cannot be faster than its raw limit; the ratio says how much of it the kit keeps."""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.context import PARTITIONS, Context, rate, warm_producer
from bench.workload import Message
from platform_kit.envelope import Envelope
from platform_kit.event_store import COLUMNS, ENVELOPE_FIELDS

# The event store's events table: same columns, same indexes (primary key on position,
# unique event_id, unique (stream_id, stream_version)); no outbox, no checks.
EVENTS_DDL = """
CREATE SCHEMA {schema};
CREATE TABLE {schema}.events (
    position bigint PRIMARY KEY, event_id uuid NOT NULL UNIQUE, stream_id text NOT NULL,
    stream_version integer NOT NULL, event_type text NOT NULL, schema_version integer NOT NULL,
    occurred_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL, unit_code text NOT NULL,
    source text NOT NULL, correlation_id uuid, causation_id uuid, payload jsonb NOT NULL,
    UNIQUE (stream_id, stream_version)
);
"""


def plain_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    """The settings of ``platform_kit.kafka.idempotent_producer``, written out."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, enable_idempotence=True, linger_ms=5,
        max_batch_size=512 * 1024, request_timeout_ms=30_000,
    )


def plain_consumer(bootstrap_servers: str) -> AIOKafkaConsumer:
    """The fetch settings of ``platform_kit.kafka.group_consumer``, without a group."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest",
        isolation_level="read_committed", max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
    )


def _rows(events: list[Envelope]) -> list[tuple]:
    """The rows the event store writes, made up front; the payload is already JSON text."""
    return [
        (position, *(getattr(e, name) for name in ENVELOPE_FIELDS[:-1]),
         json.dumps(e.payload, ensure_ascii=False, separators=(",", ":")))
        for position, e in enumerate(events, start=1)
    ]


async def copy(ctx: Context, events: list[Envelope], batch_size: int) -> float:
    """``copy_records_to_table`` of the same rows, ``batch_size`` per call (each commits)."""
    schema, rows = ctx.schema("raw_copy"), _rows(events)
    conn = await asyncpg.connect(ctx.database_url)
    try:
        await conn.execute(EVENTS_DDL.format(schema=schema))
        started = time.perf_counter()
        for i in range(0, len(rows), batch_size):
            await conn.copy_records_to_table("events", schema_name=schema, columns=COLUMNS, records=rows[i : i + batch_size])
        elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    await ctx.drop_schema(schema)
    return rate(len(rows), elapsed)


async def _produce_all(producer: AIOKafkaProducer, topic: str, messages: list[Message]) -> None:
    sends = [await producer.send(topic, value=value, key=key) for key, value in messages]
    await asyncio.gather(*sends)


async def produce(ctx: Context, messages: list[Message], warmup_topic: str) -> float:
    """A plain producer sending the relay's N messages (same bytes, same keys), all acked."""
    topic = await ctx.topic("raw_produce")
    producer = plain_producer(ctx.bootstrap_servers)
    await producer.start()
    try:
        await warm_producer(producer, topic, warmup_topic)
        started = time.perf_counter()
        await _produce_all(producer, topic, messages)
        elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
    return rate(len(messages), elapsed)


async def _assigned_from_start(ctx: Context, topic: str) -> AIOKafkaConsumer:
    consumer = plain_consumer(ctx.bootstrap_servers)
    await consumer.start()
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    for tp in partitions:
        await consumer.position(tp)
    return consumer


async def _consume(consumer: AIOKafkaConsumer, n: int) -> None:
    count = 0
    while count < n:
        batch = await consumer.getmany(timeout_ms=200)
        count += sum(len(records) for records in batch.values())


async def consume(ctx: Context, topic: str, n: int) -> float:
    """A plain consumer reading the topic's N messages to the end, decoding nothing."""
    consumer = await _assigned_from_start(ctx, topic)
    try:
        started = time.perf_counter()
        await _consume(consumer, n)
        elapsed = time.perf_counter() - started
    finally:
        await consumer.stop()
    return rate(n, elapsed)


async def produce_consume(ctx: Context, messages: list[Message], warmup_topic: str) -> float:
    """A plain producer and a plain consumer at once, through a fresh topic: from the first
    send to the last message received."""
    topic = await ctx.topic("raw_e2e")
    producer = plain_producer(ctx.bootstrap_servers)
    await producer.start()
    consumer = await _assigned_from_start(ctx, topic)
    try:
        await warm_producer(producer, topic, warmup_topic)
        started = time.perf_counter()
        producing = asyncio.create_task(_produce_all(producer, topic, messages))
        await _consume(consumer, len(messages))
        elapsed = time.perf_counter() - started
        await producing
    finally:
        await consumer.stop()
        await producer.stop()
    return rate(len(messages), elapsed)
