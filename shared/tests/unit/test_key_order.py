"""A batch's messages in chains: one key's (or one event id's) one after the other, in order;
the chains at the same time; after a failure nothing new starts and the failure is raised once
the steps under way have ended."""

from __future__ import annotations

import asyncio

import pytest

from platform_kit.key_order import chains, run_chains

pytestmark = pytest.mark.unit


def test_items_sharing_a_key_or_through_another_item_are_one_chain_in_their_order():
    links = [["a"], ["b"], ["a", "x"], ["c"], ["b"], ["x"], []]
    assert chains(links) == [[0, 2, 5], [1, 4], [3], [6]]


def test_a_link_joining_two_chains_late_merges_them_in_index_order():
    links = [["a"], ["b"], ["a", "b"]]
    assert chains(links) == [[0, 1, 2]]


async def test_chains_run_side_by_side_and_each_in_its_order():
    log: list[str] = []
    first_waits = asyncio.Event()

    async def step(i: int) -> None:
        if i == 0:
            await first_waits.wait()  # chain [0, 2] is held up: chain [1] must still run meanwhile
        if i == 1:
            first_waits.set()
        log.append(str(i))

    await run_chains([[0, 2], [1]], step, limit=4)
    assert log == ["1", "0", "2"]


async def test_after_a_failure_no_step_starts_and_the_failure_is_raised_when_the_others_ended():
    ended: list[int] = []
    running = asyncio.Event()

    async def step(i: int) -> None:
        if i == 0:
            await running.wait()
            raise ConnectionError("the database went away")
        running.set()
        await asyncio.sleep(0)  # still under way when 0 fails
        ended.append(i)

    with pytest.raises(ConnectionError):
        await run_chains([[0, 3], [1, 2]], step, limit=4)
    assert ended == [1]  # 1 was under way and ended; neither 2 nor 3 started
