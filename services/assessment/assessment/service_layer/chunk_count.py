"""The final count of a rebuild (or of a year joining the view) on several processes: a chunk
of people, with the facts of the people they link to, is counted by ``person_figures`` alone,
so chunks are independent and their figures add up. The count is ~1 ms of CPU a person (most
of a rebuild's CPU); the processes let it use the machine's other cores.

Worker processes are spawned (never forked from the service, whose event loop, sockets and
threads a fork would copy) and compile the indicators once, at start."""

from __future__ import annotations

import asyncio
import multiprocessing
import uuid
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor

from assessment.domain.coverage import Compiled, Figures, add, compile_indicators, person_figures
from assessment.domain.facts import Fact
from assessment.domain.periods import Period

Chunk = tuple[list[uuid.UUID], dict[uuid.UUID, list[Fact]]]
_indicators: tuple[Compiled, ...] = ()  # a worker's, compiled at its start (compiled rules do not pickle)


def _start(indicators: list) -> None:
    global _indicators
    _indicators = compile_indicators(indicators)


def figures_of(people: Sequence[uuid.UUID], facts: dict[uuid.UUID, list[Fact]], periods: Sequence[Period],
               indicators: Sequence[Compiled] | None = None) -> Figures:
    """What these people add to the (unit-level) view; ``facts`` holds theirs and their links'."""
    figures: Figures = {}
    for person in people:
        add(figures, person_figures(person, facts, periods, _indicators if indicators is None else indicators))
    return figures


async def counted(
    chunks: AsyncIterator[Chunk], periods: Sequence[Period], indicators: Sequence[Compiled], rules_indicators: list,
    workers: int,
) -> Figures:
    """Every chunk's figures added up: in this process when ``workers`` is 1 or there is only
    one chunk (a small table spawns nothing), else on ``workers`` processes, at most one chunk
    more than them in flight (the memory stays a few chunks')."""
    figures: Figures = {}
    first = await anext(chunks, None)
    if first is None:
        return figures
    second = await anext(chunks, None) if workers > 1 else None
    if second is None:
        add(figures, figures_of(*first, periods, indicators))
        async for chunk in chunks:  # workers == 1
            add(figures, figures_of(*chunk, periods, indicators))
        return figures
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start, initargs=(rules_indicators,),
    ) as pool:
        pending: set[asyncio.Future] = set()

        async def submit(chunk: Chunk) -> None:
            nonlocal pending
            pending.add(loop.run_in_executor(pool, figures_of, *chunk, periods))
            if len(pending) > workers:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    add(figures, future.result())

        await submit(first)
        await submit(second)
        async for chunk in chunks:
            await submit(chunk)
        for future in asyncio.as_completed(pending):
            add(figures, await future)
    return figures
