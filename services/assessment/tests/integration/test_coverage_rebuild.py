"""Every view can be dropped and rebuilt from history: rebuilt equals live, exactly; and the
answer for a past date equals a rebuild from only what had happened and been recorded by then."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assessment.domain.coverage import compile_indicators, from_scratch, rolled_up
from assessment.domain.facts import by_subject, facts_of
from assessment.domain.periods import Period, parse_instant
from assessment_demo import demo_history
from assessment_testing import History
from platform_kit.contract import catalogue
from platform_kit.testing import delete_topics, new_namespace, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

HISTORY = demo_history(seed=7, people_per_village=5, villages_per_town=2, late_share=0.1)
TOWN = "370402003000"
VILLAGE = "370402003001"


async def view(running) -> tuple[list, list]:
    schema = running.service.settings.database_schema
    coverage = await running.service.projection.coverage.snapshot(running.service.runtime.pool)
    facts = await running.service.runtime.pool.fetch(f"SELECT subject, event_id FROM {schema}.facts ORDER BY 1, 2")
    return coverage, [tuple(r) for r in facts]


async def announcements(running) -> list[tuple[str, int, str, str]]:
    """(stream, version, unit, period) of every figure of every CoverageChanged in the store,
    once the announcer has caught up."""
    schema, pool = running.service.settings.database_schema, running.service.runtime.pool

    async def caught_up() -> bool:
        return not await pool.fetchval(f"SELECT count(*) FROM {schema}.dirty_cells")

    await wait_until(caught_up, timeout=30, what="the announcer caught up")
    rows = await pool.fetch(
        f"SELECT stream_id, stream_version, f->>'unit_code' AS unit, f->>'period' AS period FROM {schema}.events, "
        "jsonb_array_elements(payload->'figures') AS f WHERE event_type = 'CoverageChanged'"
    )
    return sorted((r["stream_id"], r["stream_version"], r["unit"], r["period"]) for r in rows)


async def test_a_rebuild_from_the_topics_equals_the_live_view_and_announces_only_news(running):
    await running.publish(HISTORY)
    await running.settled()
    live, announced = await view(running), await announcements(running)
    assert live[0] and announced

    response = await running.http.post("/api/admin/rebuild")
    assert response.status_code == 202
    running.published *= 2  # every event is applied a second time
    await running.settled()
    assert await view(running) == live

    h = History(salt="news")
    h.registered("newcomer", unit=VILLAGE, at="2013-12-01", sex="male", born="1990-01-01", recorded=datetime.now(UTC))
    await running.publish(h.events)
    await running.settled()
    news = sorted(set(await announcements(running)) - set(announced))
    # She lives there still in this year and the last, live too on the system's clock.
    recent = {str(y) for y in running.service.runtime.declaration.extra["services"].live.years} - {"2013"}
    assert {period[:4] for *_, period in news} <= {"2013"} | recent
    news = [n for n in news if n[-1].startswith("2013")]
    assert news and {period for *_, period in news} == {"2013", "2013-Q4", "2013-12"}
    assert {unit for _, _, unit, _ in news} == {VILLAGE, TOWN, "370402000000"}
    assert {stream for stream, *_ in news} == {"coverage-370402000000"}


async def test_a_past_date_on_both_clocks_equals_a_rebuild_from_what_was_known_by_then(running, settings, serve, pool):
    await running.publish(HISTORY)
    await running.settled()
    as_of = known_at = parse_instant("2013-09-30", field="as_of")
    then = [e for e in HISTORY if e.occurred_at <= as_of and e.recorded_at <= known_at]
    assert len(then) < len(HISTORY)

    other = settings.model_copy(update={"database_schema": f"{settings.database_schema}_then", "topic_namespace": new_namespace()})
    try:
        async with serve(other) as rebuilt:
            await rebuilt.publish(then)
            await rebuilt.settled()
            for period in ("2013-Q3", "2013-09", "2013-Q1"):  # periods over by then
                for level in ("town", "village"):
                    past = await running.get("/api/scoreboard", period=period, level=level, as_of="2013-09-30", known_at="2013-09-30")
                    fresh = await rebuilt.get("/api/scoreboard", period=period, level=level)
                    assert past["source"] == "history" and fresh["source"] == "live"
                    assert past["rows"] == fresh["rows"], (period, level)
            town = "370402005000"
            past = await running.get(f"/api/units/{town}/trend", year=2013, as_of="2013-09-30", known_at="2013-09-30")
            fresh = await rebuilt.get(f"/api/units/{town}/trend", year=2013)
            months_over = [str(m) for m in Period.parse("2013-Q1").month_periods()]
            for indicator, points in past["indicators"].items():
                assert [p for p in points if p["period"] in months_over] == [
                    p for p in fresh["indicators"][indicator] if p["period"] in months_over
                ]
    finally:
        await pool.execute(f"DROP SCHEMA IF EXISTS {other.database_schema} CASCADE")
        await delete_topics(settings.kafka_bootstrap_servers, namespaces=[other.topic_namespace])


async def test_while_a_rebuild_replays_reads_are_computed_from_the_facts_and_its_end_makes_the_view_whole(running):
    """A rebuild's replay stores facts only; reads of the live years meanwhile answer what a
    computation from the facts stored so far gives (never the emptied view), and its end
    computes the view once, equal to the one the live path kept."""
    await running.publish(HISTORY)
    await running.settled()
    live = await view(running)
    projection, pool = running.service.projection, running.service.runtime.pool
    district, period = "370402000000", Period(2013, 4)

    async def figures(unit: str) -> dict[str, tuple[int, int]]:
        coverage = await running.get(f"/api/units/{unit}/coverage", period=str(period))
        return {i["id"]: (i["numerator"], i["denominator"]) for i in coverage["indicators"]}

    async def sources() -> set[str]:
        """Where the figures shown came from, as the answers say it."""
        coverage = await running.get(f"/api/units/{VILLAGE}/coverage", period=str(period))
        equalisation = await running.get(f"/api/units/{VILLAGE}/equalisation", period=str(period))
        board = await running.get("/api/scoreboard", period=str(period), level="town")
        return {coverage["source"], equalisation["source"]["migrant"], board["source"]}

    assert await sources() == {"live"}

    # The replay as the runner drives it (what it applies: each stream's events above its
    # mark), half of the history in, stopped there.
    history = applied_by_the_runner(HISTORY)
    half = history[: len(history) // 2]
    async with pool.acquire() as conn:
        async with conn.transaction():
            await projection.reset(conn)
        for i in range(0, len(half), 100):
            async with conn.transaction():
                await projection.apply(conn, half[i:i + 100])
    assert not await pool.fetchval(f"SELECT count(*) FROM {running.service.settings.database_schema}.coverage")
    rules = projection.rules
    so_far = rolled_up(
        from_scratch(by_subject(f for e in half for f in facts_of(e, catalogue.load(e))), [period],
                     compile_indicators(rules.indicators)), projection.tree,
    )
    for unit in (district, TOWN, VILLAGE):
        expected = {i.id: so_far.get((unit, i.id, period), (0, 0)) for i in rules.indicators}
        assert any(d for _, d in expected.values()), unit  # the check below could not pass by zeros
        assert await figures(unit) == expected, unit
    # Computed from the facts on request, and said so: not the kept view, which is empty.
    assert await sources() == {"history"}

    async with pool.acquire() as conn:
        for i in range(len(half), len(history), 100):
            async with conn.transaction():
                await projection.apply(conn, history[i:i + 100])
        assert not await conn.fetchval(f"SELECT count(*) FROM {projection.schema}.coverage")
        async with conn.transaction():
            await projection.replayed(conn)  # as the runner calls it at the end offsets the rebuild began with
    assert await view(running) == live
    assert await sources() == {"live"}
    every = rolled_up(
        from_scratch(by_subject(f for e in history for f in facts_of(e, catalogue.load(e))), [period],
                     compile_indicators(rules.indicators)), projection.tree,
    )
    assert await figures(district) == {i.id: every.get((district, i.id, period), (0, 0)) for i in rules.indicators}


def applied_by_the_runner(events: list) -> list:
    """``events`` as the projection runner passes them on: an event at or below its stream's
    highest version so far is a duplicate (or late) and skipped."""
    marks: dict[str, int] = {}
    kept = []
    for e in events:
        if e.stream_version > marks.get(e.stream_id, 0):
            marks[e.stream_id] = e.stream_version
            kept.append(e)
    return kept
