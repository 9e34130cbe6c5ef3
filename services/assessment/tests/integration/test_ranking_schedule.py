"""定期通报 by the service: on its clock, the schedule publishes each due ranking once (the
bottom unit ordered to rectify), whatever the number of ticks or replicas."""

from __future__ import annotations

import asyncio

import pytest

from assessment_examples import worked_examples
from assessment_testing import instant
from assessment.service_layer.ranking_schedule import RankingScheduler
from platform_kit.clock import SettableClock

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def test_the_schedule_publishes_each_due_ranking_once_on_the_service_clock(running):
    await running.publish(worked_examples().events)
    await running.settled()
    services = running.service.services
    clock = SettableClock(instant("2013-07-05T23:00"))  # Q2 ended; its day (5 days after) not yet come
    tick = RankingScheduler(services.commands, services.reads.rules, clock, 60).tick
    assert await tick() > 0  # Q1's rankings
    published_q1 = await running.get("/api/rectifications", period="2013-Q1")

    clock.set(instant("2013-07-06T09:00"))
    # Two replicas looking at once still publish each ranking once.
    first, second = await asyncio.gather(tick(), tick())
    assert first + second > 0
    assert await tick() == 0
    orders = await running.get("/api/rectifications", period="2013-Q2")
    assert orders and all(o["status"] == "open" for o in orders)
    store = running.service.runtime.store
    versions = await store.pool.fetch(
        f"SELECT stream_id, count(*) AS n FROM {store.schema}.events WHERE event_type = 'RankingPublished' "
        "AND payload->>'period' = '2013-Q2' GROUP BY stream_id"
    )
    # the towns once, and once the villages of each town where somebody can be ranked (a town
    # whose villages have nobody to count has no village ranking: docs/assessment.md)
    streams = [r["stream_id"] for r in versions]
    assert "ranking-2013-Q2-town" in streams and any(s.startswith("ranking-2013-Q2-village-") for s in streams), streams
    assert {r["n"] for r in versions} == {1}
    assert await running.get("/api/rectifications", period="2013-Q1") == published_q1


async def test_the_service_runs_the_schedule_only_when_its_setting_says_so(settings, serve):
    """The loop is the service's (RANKING_SCHEDULE, on by default in a deployment); the tests'
    services run without it unless a test asks, as this one does."""
    from datetime import UTC, datetime

    from platform_kit.testing import wait_until

    clock = {"clock_start": instant("2013-07-06T09:00"), "clock_started_at": datetime.now(UTC)}
    async with serve(settings.model_copy(update=clock | {"ranking_schedule": False})) as off:
        await off.publish(worked_examples().events)
        await off.settled()
        assert "ranking-schedule" not in off.service.runtime.declaration.loops(off.service.runtime)
        assert await _rankings(off) == 0
    on = settings.model_copy(update=clock | {"ranking_schedule": True, "ranking_schedule_seconds": 0.2})
    async with serve(on) as running:

        async def published() -> bool:
            return await _rankings(running) > 0

        await wait_until(published, timeout=60, what="a scheduled RankingPublished")


async def _rankings(running) -> int:
    store = running.service.runtime.store
    return await store.pool.fetchval(
        f"SELECT count(*) FROM {store.schema}.events WHERE event_type = 'RankingPublished'"
    )
