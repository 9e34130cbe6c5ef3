"""Projections on the real broker and database: each event takes effect once, a crash
mid-batch changes nothing, poison goes to the dead-letter topic, and rebuilds are exact."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections import Counter
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from counting_projection import ServicesPerUnit
from pydantic import BaseModel, ConfigDict

from platform_kit.catalogue import EventCatalogue
from platform_kit.envelope import Envelope
from platform_kit.projection import ProjectionRunner
from platform_kit.testing import SAMPLE_UNITS, read_topic_to_end, service_delivered, wait_until
from platform_kit.topics import dead_letter_topic

PROCESSES = Path(__file__).parent / "processes"


def history(streams: int, versions: int) -> list[Envelope]:
    return [
        service_delivered(f"resident-{s}", v, unit_code=SAMPLE_UNITS[s % len(SAMPLE_UNITS)], index=s * versions + v)
        for v in range(1, versions + 1)
        for s in range(streams)
    ]


def expected_view(events: list[Envelope]) -> tuple[list, list]:
    distinct = list({e.event_id: e for e in events}.values())
    counts = Counter((e.unit_code, e.payload["service_kind"]) for e in distinct)
    heads: dict[str, int] = {}
    for e in distinct:
        heads[e.stream_id] = max(heads.get(e.stream_id, 0), e.stream_version)
    return sorted((u, k, n) for (u, k), n in counts.items()), sorted(heads.items())


async def publish(producer, topic: str, messages: list[Envelope | bytes]) -> None:
    sends = []
    for message in messages:
        if isinstance(message, Envelope):
            sends.append(await producer.send(topic, value=message.to_bytes(), key=message.key))
        else:
            sends.append(await producer.send(topic, value=message, key=b"garbage"))
    await asyncio.gather(*sends)


@asynccontextmanager
async def running(runner: ProjectionRunner):
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        yield runner
    finally:
        stop.set()
        await task


async def caught_up(runner: ProjectionRunner, stack, topic: str) -> None:
    """Wait until the runner's stored position is at the end of the topic."""
    total = len(await read_topic_to_end(stack.bootstrap_servers, topic))

    async def at_end() -> bool:
        return sum((await runner.stored_positions()).values()) >= total

    await wait_until(at_end, timeout=90, what=f"{runner.name} at the end of {topic}")


@pytest.fixture
def make_runner(stack, pool, producer):
    async def make(schema: str, topic: str, *, name: str = "services_per_unit", batch_size: int = 150, catalogue=None):
        projection = ServicesPerUnit(name, [topic], schema)
        runner = ProjectionRunner(
            projection, pool=pool, schema=schema, bootstrap_servers=stack.bootstrap_servers,
            producer=producer, batch_size=batch_size, catalogue=catalogue,
        )
        await runner.setup()
        return runner

    return make


@pytest.fixture
async def other_schema(pool, schema):
    name = f"{schema}_b"
    yield name
    await pool.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


class TestExactlyOnceEffect:
    async def test_duplicates_and_redeliveries_count_once(self, stack, pool, schema, topic, producer, make_runner):
        events = history(streams=40, versions=5)
        await publish(producer, topic, events + events[:77])  # a relay that sent 77 twice
        runner = await make_runner(schema, topic)
        async with running(runner):
            await caught_up(runner, stack, topic)
        assert await runner.projection.snapshot(pool) == expected_view(events)
        assert (runner.stats.applied, runner.stats.duplicates) == (200, 77)

    async def test_a_restart_resumes_from_the_stored_position(self, stack, pool, schema, topic, producer, make_runner):
        first, second = history(streams=10, versions=2), history(streams=10, versions=4)[20:]
        await publish(producer, topic, first)
        runner = await make_runner(schema, topic)
        async with running(runner):
            await caught_up(runner, stack, topic)
        await publish(producer, topic, second)
        restarted = await make_runner(schema, topic)
        async with running(restarted):
            await caught_up(restarted, stack, topic)
        assert restarted.stats.applied == len(second)  # nothing read twice into the view
        assert await restarted.projection.snapshot(pool) == expected_view(first + second)


class TestCrashMidBatch:
    async def test_a_projection_killed_mid_batch_ends_where_an_uninterrupted_run_ends(
        self, stack, pool, schema, other_schema, topic, producer, make_runner
    ):
        events = history(streams=60, versions=10)
        await publish(producer, topic, events + events[100:160])

        crashing = await asyncio.create_subprocess_exec(
            sys.executable, str(PROCESSES / "projection_killed_mid_batch.py"),
            stack.database_url, schema, topic, stack.bootstrap_servers,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        async with asyncio.timeout(90):
            while (await crashing.stdout.readline()).strip() != b"mid-batch 3":
                pass
        crashing.send_signal(signal.SIGKILL)
        assert await crashing.wait() == -signal.SIGKILL
        half_done = await pool.fetchval(f"SELECT coalesce(sum(delivered), 0) FROM {schema}.services_per_unit")
        assert 0 < half_done < len(events)

        restarted = await make_runner(schema, topic)
        async with running(restarted):
            await caught_up(restarted, stack, topic)
        uninterrupted = await make_runner(other_schema, topic)
        async with running(uninterrupted):
            await caught_up(uninterrupted, stack, topic)

        assert await restarted.projection.snapshot(pool) == await uninterrupted.projection.snapshot(pool)
        assert await restarted.projection.snapshot(pool) == expected_view(events)


class TestDeadLetters:
    async def test_what_cannot_be_handled_is_dead_lettered_with_its_reason(
        self, stack, pool, schema, topic, producer, make_runner
    ):
        catalogue = EventCatalogue()

        @catalogue.event("ServiceDelivered", version=1)
        class ServiceDelivered(BaseModel):
            model_config = ConfigDict(extra="allow")

        good = history(streams=5, versions=2)
        poison = service_delivered("resident-poison", 1, poison=True)
        bad_unit = service_delivered("resident-x", 1).model_dump(mode="json") | {"unit_code": "37"}
        await publish(
            producer, topic,
            good[:5] + [b"not json at all", json.dumps(bad_unit).encode(), poison] + good[5:],
        )
        runner = await make_runner(schema, topic, batch_size=500, catalogue=catalogue)
        async with running(runner):
            await caught_up(runner, stack, topic)

        assert await runner.projection.snapshot(pool) == expected_view(good)
        letters = await read_topic_to_end(stack.bootstrap_servers, dead_letter_topic(runner.group_id))
        reasons = sorted(dict(letter.headers)["reason"].decode() for letter in letters)
        assert len(reasons) == 3
        assert any(r.startswith("not a valid envelope: message: Invalid JSON") for r in reasons)
        assert any(r.startswith("not a valid envelope: unit_code:") for r in reasons)
        assert any(r.startswith("ValueError: payload.poison") for r in reasons)
        # (an event newer than the reader is not dead-lettered: see test_projection_faults.py)
        assert poison.to_bytes() in {letter.value for letter in letters}
        assert all(dict(letter.headers)["original_topic"] == topic.encode() for letter in letters)
        assert runner.stats.dead_lettered == 3


class TestRebuild:
    async def test_a_rebuild_from_the_beginning_equals_the_live_view(
        self, stack, pool, schema, topic, producer, make_runner
    ):
        await publish(producer, topic, history(streams=30, versions=4))
        runner = await make_runner(schema, topic)
        async with running(runner):
            await caught_up(runner, stack, topic)
            live = await runner.projection.snapshot(pool)
            applied_before = runner.stats.applied
            runner.request_rebuild()
            await wait_until(
                lambda: asyncio.sleep(0, runner.stats.applied == 2 * applied_before), what="rebuilt"
            )
            await caught_up(runner, stack, topic)
        assert await runner.projection.snapshot(pool) == live

    async def test_a_rebuild_tells_the_projection_once_when_what_it_began_with_is_applied(
        self, stack, pool, schema, topic, producer, make_runner
    ):
        """Without any news after it: the batch reaching the end offsets the rebuild began
        with calls ``replayed`` in its transaction (what it sees is every replayed event)."""
        events = history(streams=30, versions=4)
        runner = await make_runner(schema, topic)
        seen: list[int] = []

        async def replayed(conn) -> None:
            seen.append(await conn.fetchval(f"SELECT coalesce(sum(delivered), 0) FROM {schema}.services_per_unit"))

        runner.projection.replayed = replayed
        async with running(runner):
            await runner.reset()  # nothing on the topic yet: over at once
            assert seen == [0]
            await publish(producer, topic, events)
            await caught_up(runner, stack, topic)
            assert seen == [0]  # news after a finished rebuild is no replay
            runner.request_rebuild()
            await wait_until(lambda: asyncio.sleep(0, len(seen) == 2), what="the replay over")
        assert seen == [0, len(events)]
