"""The relay under faults, on the real broker and database: an event Kafka refuses as too
large is parked and the others flow on; a leader whose connection hangs hands over."""

from __future__ import annotations

import asyncio

import pytest
from platform_kit.tcp_proxy import TcpProxy
from test_outbox_relay import decoded, outbox_is_empty, per_stream_versions, running

from platform_kit.event_store import EventStore
from platform_kit.kafka import idempotent_producer
from platform_kit.outbox_relay import OutboxRelay
from platform_kit.testing import read_topic_to_end, service_delivered, wait_until

DEADLINE = 60  # seconds: "eventually", never a measurement


@pytest.fixture
async def lenient_store(pool, schema):
    """A store that lets an oversized event in (as one written before the append limit was)."""
    store = EventStore(pool, schema, max_event_bytes=10**8)
    await store.setup()
    return store


@pytest.fixture
def producer_factory(stack):
    made = []

    async def make():
        producer = idempotent_producer(stack.bootstrap_servers)
        await producer.start()
        made.append(producer)
        return producer

    yield make
    made.clear()


class TestOversizedEvents:
    async def test_a_record_kafka_refuses_as_too_large_is_parked_and_the_rest_flow_on(
        self, stack, lenient_store, pool, topic, producer_factory
    ):
        store = lenient_store
        before = [service_delivered(f"resident-{s}", 1, index=s) for s in range(10)]
        big = service_delivered("resident-big", 1, notes="x" * 1_500_000)  # beyond message.max.bytes
        after = [service_delivered(f"resident-{s}", 2, index=s) for s in range(10)]
        await store.append(before + [big])
        await store.append(after)
        relay = OutboxRelay(
            database_url=stack.database_url, schema=store.schema, topic=topic, producer_factory=producer_factory,
            idle_poll_seconds=0.05, max_message_bytes=10**8,  # let the broker be the one to refuse it
        )
        async with running(relay):
            await wait_until(lambda: outbox_is_empty(pool, store), timeout=DEADLINE, what="outbox drained")
            late = service_delivered("resident-late", 1)
            await store.append([late])  # the producer works after the refusal
            await wait_until(lambda: outbox_is_empty(pool, store), timeout=DEADLINE, what="late event published")
        parked = await pool.fetch(f"SELECT position, reason FROM {store.schema}.outbox_parked")
        assert [row["position"] for row in parked] == [11]
        assert "TooLarge" in parked[0]["reason"]
        published = decoded(await read_topic_to_end(stack.bootstrap_servers, topic))
        assert {e.event_id for e in published} == {e.event_id for e in before + after + [late]}
        assert all(v in ([1, 2], [1]) for v in per_stream_versions(published).values())

    async def test_a_message_over_the_relays_own_limit_is_parked_without_asking_kafka(
        self, stack, lenient_store, pool, topic, producer
    ):
        store = lenient_store
        await store.append([service_delivered("resident-a", 1), service_delivered("resident-b", 1, notes="y" * 5000)])
        relay = OutboxRelay(
            database_url=stack.database_url, schema=store.schema, topic=topic, producer=producer,
            idle_poll_seconds=0.05, max_message_bytes=4000,
        )
        async with running(relay):
            await wait_until(lambda: outbox_is_empty(pool, store), timeout=DEADLINE, what="outbox drained")
        reason = await pool.fetchval(f"SELECT reason FROM {store.schema}.outbox_parked WHERE position = 2")
        assert "exceeds max_message_bytes 4000" in reason
        assert [e.stream_id for e in decoded(await read_topic_to_end(stack.bootstrap_servers, topic))] == ["resident-a"]


class TestHangingLeader:
    async def test_the_standby_takes_over_from_a_leader_whose_connection_hangs(
        self, stack, pool, schema, topic, producer
    ):
        store = EventStore(pool, schema)
        await store.setup()
        proxy, proxied_url = await TcpProxy.for_url(stack.database_url)
        leader = OutboxRelay(
            database_url=proxied_url, schema=schema, topic=topic, producer=producer,
            idle_poll_seconds=0.05, lease_seconds=6, standby_poll_seconds=0.5,
        )
        standby = OutboxRelay(
            database_url=stack.database_url, schema=schema, topic=topic, producer=producer,
            idle_poll_seconds=0.05, lease_seconds=6, standby_poll_seconds=0.5,
        )
        try:
            async with running(leader):
                await wait_until(lambda: asyncio.sleep(0, leader.is_leader), timeout=DEADLINE, what="leader elected")
                async with running(standby):
                    await store.append([service_delivered("resident-1", 1)])
                    await wait_until(lambda: outbox_is_empty(pool, store), timeout=DEADLINE, what="published")
                    assert leader.published == 1 and standby.published == 0

                    proxy.freeze()  # the leader's network goes away; its session stays open
                    await store.append([service_delivered("resident-1", 2)])
                    await wait_until(
                        lambda: asyncio.sleep(0, standby.published == 1), timeout=DEADLINE, what="standby took over"
                    )
                    await wait_until(
                        lambda: asyncio.sleep(0, not leader.is_leader), timeout=DEADLINE, what="old leader stepped down"
                    )
        finally:
            await proxy.close()
        published = decoded(await read_topic_to_end(stack.bootstrap_servers, topic))
        assert per_stream_versions(published) == {"resident-1": [1, 2]}
