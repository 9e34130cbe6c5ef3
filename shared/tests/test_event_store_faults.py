"""The event store under faults, on the real PostgreSQL: an event too large to publish is
refused at append time; a repeated id is found in linear time and without the append lock;
autovacuum (or anything holding the lock VACUUM takes) never blocks an append."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from platform_kit.event_store import DuplicateEvent, EventStore, EventTooLarge, MalformedAppend, _refuse_repeats
from platform_kit.testing import service_delivered

# A guard, not a measurement: each of these finishes in well under a second when correct,
# and blocks (or runs for many minutes) when broken.
GUARD_SECONDS = 30


class TestEventSize:
    async def test_an_event_larger_than_the_limit_is_refused_naming_the_event_and_the_limit(self, store):
        big = service_delivered("resident-big", 1, notes="字" * 400_000)  # ~1.2 MB as UTF-8
        small = service_delivered("resident-small", 1)
        with pytest.raises(EventTooLarge, match=rf"payload: event {big.event_id} \(ServiceDelivered") as error:
            await store.append([small, big])
        assert isinstance(error.value, MalformedAppend)
        assert error.value.limit == store.max_event_bytes < 1024 * 1024
        assert "more than the limit of" in str(error.value)
        assert await store.head_position() == 0  # nothing of the batch was stored

    async def test_the_limit_is_configurable(self, pool, schema):
        store = EventStore(pool, schema, max_event_bytes=2000)
        await store.setup()
        await store.append([service_delivered("resident-a", 1)])
        with pytest.raises(EventTooLarge, match="limit of 2000 bytes"):
            await store.append([service_delivered("resident-a", 2, notes="x" * 3000)])


class TestRepeatsAndTheLock:
    def test_a_repeat_in_a_big_batch_is_found_with_linear_work(self):
        # Count the id comparisons: a set needs about one per repeat, ``list.count`` per id
        # (what the store did) needs n squared, 4,000,000 here.
        ids = [_CountingId(int=uuid.uuid4().int) for _ in range(2000)]
        events = [_Event(i) for i in ids] + [_Event(_CountingId(int=ids[123].int))]
        with pytest.raises(DuplicateEvent, match=str(ids[123])):
            _refuse_repeats(events)
        assert _CountingId.comparisons <= 10 * len(events)

    async def test_a_repeat_within_a_batch_is_refused_without_waiting_for_the_append_lock(self, store, pool):
        async with pool.acquire() as holder, holder.transaction():
            await store.append([service_delivered("resident-holder", 1)], conn=holder)  # holds the lock
            event = service_delivered("resident-a", 1)
            with pytest.raises(DuplicateEvent):
                await asyncio.wait_for(store.append([event, event]), GUARD_SECONDS)

    async def test_an_append_is_not_blocked_by_the_lock_vacuum_takes(self, store, pool):
        await store.append([service_delivered("resident-a", 1)])
        async with pool.acquire() as vacuum, vacuum.transaction():
            # VACUUM (and an anti-wraparound autovacuum, which cannot be cancelled) holds
            # SHARE UPDATE EXCLUSIVE on the table for as long as it runs.
            await vacuum.execute(f"LOCK TABLE {store.table} IN SHARE UPDATE EXCLUSIVE MODE")
            recorded = await asyncio.wait_for(store.append([service_delivered("resident-a", 2)]), GUARD_SECONDS)
        assert recorded[0].position == 2

    async def test_appenders_still_take_turns_on_the_advisory_lock(self, store, pool):
        async with pool.acquire() as holder:
            tx = holder.transaction()
            await tx.start()
            await store.append([service_delivered("resident-holder", 1)], conn=holder)
            waiting = asyncio.create_task(store.append([service_delivered("resident-b", 1)]))
            await asyncio.sleep(0.3)
            assert not waiting.done()  # the second appender waits for the first to commit
            await tx.commit()
        recorded = await asyncio.wait_for(waiting, GUARD_SECONDS)
        assert recorded[0].position == 2


class _CountingId(uuid.UUID):
    comparisons = 0

    def __eq__(self, other: object) -> bool:
        type(self).comparisons += 1
        return super().__eq__(other)

    __hash__ = uuid.UUID.__hash__


class _Event:
    """Just what ``_refuse_repeats`` reads."""

    def __init__(self, event_id: uuid.UUID) -> None:
        self.event_id = event_id
