"""A batch of messages handled concurrently without reordering what must stay in order.

The department gate reads its topic in batches: handled one by one, every message waits for
the database round trips of the one before, and the event store's group commit never sees two
appends at once. Messages about different people do not depend on each other, so they may be
handled at the same time; messages that share a Kafka key (one person's stream) or a
department ``event_id`` (a resend) must not overtake each other, or a move is decided before
the move it follows, or a resend is decided beside its original instead of after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence


def chains(links: Sequence[Iterable[Hashable]]) -> list[list[int]]:
    """The indexes of ``links`` in chains: items that share a link, directly or through others,
    are in one chain, in index order; chains are in the order of their first item."""
    parent = list(range(len(links)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[Hashable, int] = {}
    for i, labels in enumerate(links):
        for label in labels:
            j = first_with.setdefault(label, i)
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    grouped: dict[int, list[int]] = {}
    for i in range(len(links)):
        grouped.setdefault(root(i), []).append(i)
    return list(grouped.values())


async def run_chains(chains: Sequence[Sequence[int]], step: Callable[[int], Awaitable[None]], *, limit: int) -> None:
    """``step`` each index: a chain's one after the other, chains concurrently, at most
    ``limit`` steps at a time. After a failure no chain starts another step (the whole batch
    is read again anyway); the first failure is raised once every running step has ended, so
    nothing is still writing when the caller gives the batch up."""
    gate = asyncio.Semaphore(limit)
    failures: list[BaseException] = []

    async def run(chain: Sequence[int]) -> None:
        for index in chain:
            async with gate:
                if failures:
                    return
                try:
                    await step(index)
                except Exception as error:
                    failures.append(error)
                    return

    await asyncio.gather(*(run(chain) for chain in chains))
    if failures:
        raise failures[0]
