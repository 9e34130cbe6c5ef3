"""The event store's fast paths keep its promises: concurrent appends committed together each
get their own answer, a refusal inside a caller's transaction leaves it usable, and a replay
that reads ahead skips nothing and repeats nothing while appends go on."""

from __future__ import annotations

import asyncio

import pytest

from platform_kit.event_store import ConcurrencyConflict, DuplicateEvent, EventStore
from platform_kit.testing import service_delivered

GUARD_SECONDS = 30


class TestGroupCommit:
    async def test_appends_committed_together_are_each_checked_and_answered_on_their_own(self, store, pool):
        stored = (await store.append([service_delivered("resident-d", 1)]))[0].event
        async with pool.acquire() as holder:
            tx = holder.transaction()
            await tx.start()
            await store.append([service_delivered("resident-holder", 1)], conn=holder)  # holds the lock
            # All four queue behind the holder, so one group commits them.
            appends = [
                store.append([service_delivered("resident-x", 1, note="first")]),
                store.append([service_delivered("resident-x", 1, note="second")]),  # the same version again
                store.append([stored.model_copy(update={"stream_id": "resident-e"})]),  # a stored event id
                store.append([service_delivered("resident-y", 1), service_delivered("resident-y", 2)]),
            ]
            answers = asyncio.gather(*appends, return_exceptions=True)
            await asyncio.sleep(0.1)
            await tx.commit()
        first, second, repeated, both = await asyncio.wait_for(answers, GUARD_SECONDS)
        assert [r.position for r in first] == [3]
        assert isinstance(second, ConcurrencyConflict) and (second.expected, second.actual) == (0, 1)
        assert isinstance(repeated, DuplicateEvent) and repeated.event_ids == [stored.event_id]
        assert [r.position for r in both] == [4, 5]
        rows = await pool.fetch(f"SELECT position, xmin::text AS tx FROM {store.table} WHERE position > 2")
        assert len({row["tx"] for row in rows}) == 1, "one transaction for the group"
        outbox = await pool.fetch(f"SELECT position FROM {store.schema}.outbox ORDER BY position")
        assert [row["position"] for row in outbox] == [1, 2, 3, 4, 5]
        assert [e.payload["note"] for e in await store.read_stream("resident-x")] == ["first"]

    async def test_a_refusal_inside_the_callers_transaction_leaves_it_usable(self, store, pool):
        await store.append([service_delivered("resident-a", 1)])
        async with pool.acquire() as conn, conn.transaction():
            with pytest.raises(ConcurrencyConflict):
                await store.append([service_delivered("resident-a", 1)], conn=conn)
            recorded = await store.append([service_delivered("resident-a", 2)], conn=conn)
        assert [r.position for r in recorded] == [2]


class _AppendingBetweenReads(EventStore):
    """The page after ``short_after`` is read (one row: the head) before ``more`` is appended,
    but handed back only after the range after ``beyond`` was read, which then holds rows
    the short page did not: a reader that kept that page would skip the rows between."""

    short_after, beyond = 9, 12

    def __init__(self, *args, more, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.more, self.short_read, self.beyond_read = more, asyncio.Event(), asyncio.Event()

    async def _read_range(self, after_position, page):
        if after_position == self.beyond and self.more:
            await self.short_read.wait()
            await self.append(self.more)
            self.more = []
            rows = await super()._read_range(after_position, page)
            self.beyond_read.set()
            return rows
        rows = await super()._read_range(after_position, page)
        if after_position == self.short_after and not self.short_read.is_set():
            self.short_read.set()
            await self.beyond_read.wait()
        return rows


class TestReplay:
    async def test_raw_rows_come_in_commit_order_page_by_page(self, store):
        events = [service_delivered(f"resident-{i}", 1, index=i) for i in range(25)]
        await store.append(events[:10])
        await store.append(events[10:])
        pages = [rows async for rows in store.replay_raw(page=4, ahead=3)]
        assert [len(rows) for rows in pages] == [4, 4, 4, 4, 4, 4, 1]
        rows = [row for page in pages for row in page]
        assert [row["position"] for row in rows] == list(range(1, 26))
        assert [row["event_id"] for row in rows] == [e.event_id for e in events]
        assert rows[0]["payload"].startswith("{") and '"service_kind"' in rows[0]["payload"]
        assert [r["position"] for r in await store.read_all_raw(after_position=20, limit=3)] == [21, 22, 23]

    async def test_rows_committed_while_reading_ahead_are_neither_skipped_nor_repeated(self, pool, schema):
        more = [service_delivered(f"resident-late-{i}", 1) for i in range(5)]
        store = _AppendingBetweenReads(pool, schema, more=more)
        await store.setup()
        await store.append([service_delivered(f"resident-{i}", 1) for i in range(10)])
        seen = [row["position"] async for rows in store.replay_raw(page=3, ahead=4) for row in rows]
        assert seen == list(range(1, 16))
