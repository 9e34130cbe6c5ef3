"""Every view can be dropped and rebuilt from history: rebuilt equals live, exactly; and the
answer for a past date equals a rebuild from only what had happened and been recorded by then."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assessment.domain.periods import Period, parse_instant
from assessment_demo import demo_history
from assessment_testing import History
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
