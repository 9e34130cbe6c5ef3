"""The event store on the real PostgreSQL: append, read, conflicts, and commit order."""

from __future__ import annotations

import asyncio
import random

import pytest

from platform_kit.event_store import ConcurrencyConflict, DuplicateEvent, MalformedAppend
from platform_kit.testing import service_delivered


class TestAppendAndRead:
    async def test_a_stream_reads_back_what_was_appended_in_order(self, store):
        events = [service_delivered("resident-a", v, index=v) for v in (1, 2, 3)]
        await store.append(events)
        assert await store.read_stream("resident-a") == events
        assert await store.read_stream("resident-a", after_version=2) == events[2:]
        assert await store.stream_version("resident-a") == 3

    async def test_positions_follow_commit_order_across_streams(self, store):
        first = await store.append([service_delivered("resident-a", 1), service_delivered("resident-b", 1)])
        second = await store.append([service_delivered("resident-a", 2)])
        recorded = await store.read_all()
        assert [r.position for r in recorded] == [1, 2, 3]
        assert [r.event for r in recorded] == [r.event for r in first + second]
        assert [r.event for r in await store.read_all(after_position=2)] == [second[0].event]

    async def test_setup_twice_changes_nothing(self, store):
        await store.append([service_delivered("resident-a", 1)])
        await store.setup()
        assert await store.head_position() == 1


class TestConflicts:
    async def test_a_stale_writer_gets_a_conflict_and_writes_nothing(self, store):
        await store.append([service_delivered("resident-a", 1)])
        with pytest.raises(ConcurrencyConflict, match="stream_version: stream resident-a is at version 1") as error:
            await store.append([service_delivered("resident-a", 1), service_delivered("resident-b", 1)])
        assert (error.value.expected, error.value.actual) == (0, 1)
        assert await store.head_position() == 1
        assert await store.read_stream("resident-b") == []

    async def test_of_two_concurrent_writers_one_wins_and_the_other_can_retry(self, store, pool):
        await store.append([service_delivered("resident-a", 1)])
        both_have_read = asyncio.Barrier(2)

        async def write(tag: str):
            version = await store.stream_version("resident-a")
            await both_have_read.wait()  # each decided on version 1
            return await store.append([service_delivered("resident-a", version + 1, note=tag)])

        results = await asyncio.gather(write("first"), write("second"), return_exceptions=True)
        conflicts = [r for r in results if isinstance(r, ConcurrencyConflict)]
        assert len(conflicts) == 1
        assert await store.stream_version("resident-a") == 2
        retried = await store.append([service_delivered("resident-a", 3, note="retried")])
        assert retried[0].position == 3

    async def test_the_same_event_sent_twice_is_stored_once(self, store):
        event = service_delivered("resident-a", 1)
        await store.append([event])
        with pytest.raises(DuplicateEvent, match=str(event.event_id)):
            await store.append([event.model_copy(update={"stream_id": "resident-b"})])
        assert await store.head_position() == 1

    async def test_versions_that_skip_within_a_batch_are_refused(self, store):
        with pytest.raises(MalformedAppend, match="jumps from 1 to 3"):
            await store.append([service_delivered("resident-a", 1), service_delivered("resident-a", 3)])
        assert await store.head_position() == 0

    async def test_a_rolled_back_transaction_leaves_no_event_and_no_hole(self, store, pool):
        async with pool.acquire() as conn:
            with pytest.raises(RuntimeError):
                async with conn.transaction():
                    await store.append([service_delivered("resident-a", 1)], conn=conn)
                    raise RuntimeError("the caller's unit of work failed")
        await store.append([service_delivered("resident-b", 1)])
        assert [r.position for r in await store.read_all()] == [1]


class TestCommitOrder:
    async def test_a_tailing_reader_skips_nothing_and_sees_nothing_twice(self, store, pool):
        """Eight writers whose transactions stay open for random times, a reader polling all
        along: the reader must end with every committed event exactly once, in position order."""
        writers, appends_each = 8, 25
        committed: list = []
        done = asyncio.Event()

        async def writer(w: int):
            rng = random.Random(w)
            for a in range(appends_each):
                events = [service_delivered(f"resident-w{w}-{a}", v, index=a) for v in range(1, rng.randint(1, 4) + 1)]
                async with pool.acquire() as conn, conn.transaction():
                    await store.append(events, conn=conn)
                    await asyncio.sleep(rng.random() * 0.01)  # commit late, after others have started
                committed.extend(events)

        async def reader():
            seen, position = [], 0
            while True:
                finished = done.is_set()
                batch = await store.read_all(after_position=position, limit=7)
                seen.extend(batch)
                position = batch[-1].position if batch else position
                if finished and not batch:
                    return seen
                await asyncio.sleep(0)

        reading = asyncio.create_task(reader())
        await asyncio.gather(*(writer(w) for w in range(writers)))
        done.set()
        seen = await reading
        assert [r.position for r in seen] == list(range(1, len(committed) + 1))
        assert sorted(str(r.event.event_id) for r in seen) == sorted(str(e.event_id) for e in committed)
