"""The kit, stage by stage: EventStore.append, OutboxRelay, ProjectionRunner, and all three at
once. Each stage works in a fresh schema (and topic) and returns events per second."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaProducer

from bench.context import PARTITIONS, Context, observed, rate, warm_producer
from bench.projection import ServicesPerUnit
from bench.workload import batches
from platform_kit.envelope import Envelope
from platform_kit.event_store import EventStore
from platform_kit.outbox_relay import OutboxRelay
from platform_kit.projection import ProjectionRunner


async def _store(ctx: Context, stage: str) -> EventStore:
    store = EventStore(ctx.pool, ctx.schema(stage))
    await store.setup()
    return store


def _relay(ctx: Context, store: EventStore, topic: str, producer: AIOKafkaProducer) -> OutboxRelay:
    return OutboxRelay(database_url=ctx.database_url, schema=store.schema, topic=topic, producer=producer)


async def _runner(ctx: Context, schema: str, topic: str, producer: AIOKafkaProducer) -> ProjectionRunner:
    runner = ProjectionRunner(
        ServicesPerUnit(topic, schema), pool=ctx.pool, schema=schema,
        bootstrap_servers=ctx.bootstrap_servers, producer=producer,
    )
    await runner.setup()
    return runner


async def _stopped(stop: asyncio.Event, *tasks: asyncio.Task) -> None:
    stop.set()
    await asyncio.gather(*tasks)


async def append(ctx: Context, events: list[Envelope], batch_size: int) -> float:
    """``EventStore.append`` of ``batch_size`` events per call, one call after the other."""
    store = await _store(ctx, "append")
    started = time.perf_counter()
    for batch in batches(events, batch_size):
        await store.append(batch)
    elapsed = time.perf_counter() - started
    await ctx.drop_schema(store.schema)
    return rate(len(events), elapsed)


async def relay_publish(
    ctx: Context, events: list[Envelope], batch_size: int, producer: AIOKafkaProducer, warmup_topic: str
) -> tuple[float, str]:
    """An ``OutboxRelay`` draining N committed outbox rows to a fresh topic. Returns the rate
    and the topic, which then holds the N messages."""
    store = await _store(ctx, "relay")
    for batch in batches(events, batch_size):
        await store.append(batch)
    topic = await ctx.topic("relay")
    await warm_producer(producer, topic, warmup_topic)
    relay, stop = _relay(ctx, store, topic, producer), asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(relay.run(stop), name="relay")
    done = await observed(lambda: relay.published >= len(events), watching=[task])
    await _stopped(stop, task)
    assert relay.published == len(events), relay.published
    await ctx.drop_schema(store.schema)
    return rate(len(events), done - started), topic


async def projection_apply(ctx: Context, topic: str, n: int, producer: AIOKafkaProducer) -> float:
    """A ``ProjectionRunner`` reading the topic's N messages, timed from its partition
    assignment (the group join is start-up, not throughput) to the last event applied."""
    runner = await _runner(ctx, ctx.schema("projection"), topic, producer)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop), name="projection")
    started = await observed(lambda: len(runner.stats.assigned) == PARTITIONS, watching=[task])
    done = await observed(lambda: runner.stats.applied >= n, watching=[task])
    await _stopped(stop, task)
    counts = (runner.stats.applied, await runner.projection.total(ctx.pool))
    assert counts == (n, n), f"applied, counted: {counts}; {runner.stats}"
    await ctx.drop_schema(runner.schema)
    return rate(n, done - started)


async def end_to_end(
    ctx: Context, events: list[Envelope], batch_size: int, producer: AIOKafkaProducer, warmup_topic: str
) -> float:
    """Appends in batches while a relay and a projection runner run: from the first append
    to the projection having applied the last event."""
    store = await _store(ctx, "e2e")
    topic = await ctx.topic("e2e")
    await warm_producer(producer, topic, warmup_topic)
    relay = _relay(ctx, store, topic, producer)
    runner = await _runner(ctx, store.schema, topic, producer)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop), name="relay"), asyncio.create_task(runner.run(stop), name="projection")]
    await observed(lambda: relay.is_leader and len(runner.stats.assigned) == PARTITIONS, watching=tasks)
    await asyncio.sleep(0.2)  # let the relay reach its idle wait (listening for appends)
    started = time.perf_counter()
    for batch in batches(events, batch_size):
        await store.append(batch)
    done = await observed(lambda: runner.stats.applied >= len(events), watching=tasks)
    await _stopped(stop, *tasks)
    counts = (relay.published, runner.stats.applied, await runner.projection.total(ctx.pool))
    assert counts == (len(events),) * 3, f"published, applied, counted: {counts}; {runner.stats}"
    await ctx.drop_schema(store.schema)
    return rate(len(events), done - started)
