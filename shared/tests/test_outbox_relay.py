"""The outbox relay on the real broker: exactly what was committed is published, in order,
even when the relay is killed between publishing and marking."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import defaultdict
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from platform_kit.envelope import Envelope
from platform_kit.outbox_relay import OutboxRelay
from platform_kit.testing import read_topic_to_end, service_delivered, wait_until

PROCESSES = Path(__file__).parent / "processes"


@asynccontextmanager
async def running(relay: OutboxRelay):
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield relay
    finally:
        stop.set()
        await task


def relay_for(stack, store, topic, producer, **options) -> OutboxRelay:
    return OutboxRelay(
        database_url=stack.database_url, schema=store.schema, topic=topic, producer=producer,
        idle_poll_seconds=0.05, **options,
    )


async def commit_history(store, streams: int, versions: int) -> list[Envelope]:
    """Several appends, interleaving streams, as services would make them."""
    events = []
    for v in range(1, versions + 1):
        batch = [service_delivered(f"resident-{s}", v, index=s * versions + v) for s in range(streams)]
        await store.append(batch)
        events += batch
    return events


async def outbox_is_empty(pool, store) -> bool:
    return await pool.fetchval(f"SELECT count(*) FROM {store.schema}.outbox") == 0


def decoded(records) -> list[Envelope]:
    events = [Envelope.from_bytes(record.value) for record in records]
    assert all(record.key == event.key for record, event in zip(records, events, strict=True))
    return events


def per_stream_versions(events) -> dict[str, list[int]]:
    versions = defaultdict(list)
    for event in events:
        versions[event.stream_id].append(event.stream_version)
    return versions


class TestPublishing:
    async def test_publishes_exactly_the_committed_events_in_stream_order(self, stack, store, pool, topic, producer):
        committed = await commit_history(store, streams=20, versions=3)
        async with pool.acquire() as conn:
            with pytest.raises(RuntimeError):
                async with conn.transaction():
                    await store.append([service_delivered("resident-rolled-back", 1)], conn=conn)
                    raise RuntimeError("the command failed after appending")

        async with running(relay_for(stack, store, topic, producer, batch_size=25)):
            await wait_until(lambda: outbox_is_empty(pool, store), what="outbox drained")

        published = decoded(await read_topic_to_end(stack.bootstrap_servers, topic))
        assert len(published) == len(committed)
        assert {e.event_id: e for e in published} == {e.event_id: e for e in committed}
        assert all(versions == [1, 2, 3] for versions in per_stream_versions(published).values())

    async def test_events_committed_while_running_are_published_promptly(self, stack, store, pool, topic, producer):
        async with running(relay_for(stack, store, topic, producer)) as relay:
            await store.append([service_delivered("resident-late", 1)])
            await wait_until(lambda: asyncio.sleep(0, relay.published == 1), timeout=10, what="published")
        assert len(await read_topic_to_end(stack.bootstrap_servers, topic)) == 1

    async def test_a_second_relay_stands_by_and_takes_over(self, stack, store, pool, topic, producer):
        leader, standby = relay_for(stack, store, topic, producer), relay_for(stack, store, topic, producer)
        stop_leader, stop_standby = asyncio.Event(), asyncio.Event()
        leading = asyncio.create_task(leader.run(stop_leader))
        await wait_until(lambda: asyncio.sleep(0, leader.is_leader), what="leader elected")
        standing_by = asyncio.create_task(standby.run(stop_standby))
        await store.append([service_delivered("resident-1", 1)])
        await wait_until(lambda: outbox_is_empty(pool, store), what="published by the leader")
        assert not standby.is_leader and standby.published == 0

        stop_leader.set()
        await leading
        await store.append([service_delivered("resident-1", 2)])
        await wait_until(lambda: asyncio.sleep(0, standby.published == 1), what="standby took over")
        stop_standby.set()
        await standing_by
        published = decoded(await read_topic_to_end(stack.bootstrap_servers, topic))
        assert per_stream_versions(published) == {"resident-1": [1, 2]}


class TestCrash:
    async def test_killed_between_publishing_and_marking_loses_nothing(self, stack, store, pool, topic, producer):
        committed = await commit_history(store, streams=30, versions=3)
        killed = subprocess.run(
            [sys.executable, str(PROCESSES / "relay_killed_after_publish.py"),
             stack.database_url, store.schema, topic, stack.bootstrap_servers, "40"],
            capture_output=True, timeout=120,
        )
        assert killed.returncode == -9, killed.stderr.decode()[-2000:]
        assert await pool.fetchval(f"SELECT count(*) FROM {store.schema}.outbox") == len(committed)

        async with running(relay_for(stack, store, topic, producer)):
            await wait_until(lambda: outbox_is_empty(pool, store), what="outbox drained after restart")

        published = decoded(await read_topic_to_end(stack.bootstrap_servers, topic))
        assert {e.event_id for e in published} == {e.event_id for e in committed}
        assert len(published) == len(committed) + 40  # the first batch went twice; consumers deduplicate
        seen, first_sightings = set(), []
        for event in published:
            if event.event_id not in seen:
                seen.add(event.event_id)
                first_sightings.append(event)
        assert all(versions == [1, 2, 3] for versions in per_stream_versions(first_sightings).values())
