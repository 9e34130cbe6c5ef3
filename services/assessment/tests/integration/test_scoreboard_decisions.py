"""The scoreboard and the district centre's decisions, through HTTP and assessment.events:
penalties, the one-vote veto, published rankings, rectification orders and plans, and a
CoverageChanged for every figure that moved."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from assessment_examples import CHANGAN, JIANSHE, XINHUA, ZHONGXINJIE, worked_examples
from assessment_testing import instant
from platform_kit.envelope import Envelope
from platform_kit.testing import read_topic_to_end, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
# Filed with the district (references, no bytes): the documents' bytes: tests/e2e/test_rectification_cycle.py.
DOCUMENTS = [
    {"kind": kind, "name": f"{kind}.pdf", "media_type": "application/pdf", "sha256": str(n) * 64, "size": 10,
     "reference": f"区档案 2013-{n}"}
    for n, kind in ((1, "written_report"), (2, "rectification_plan"))
]


@pytest.fixture
async def examples(running):
    await running.publish(worked_examples().events)
    await running.settled()
    return running


async def published(running, event_type: str) -> list[dict]:
    records = await read_topic_to_end(running.service.settings.kafka_bootstrap_servers, running.topics.assessment_events)
    return [m for m in (json.loads(r.value) for r in records) if m["event_type"] == event_type]


def row(board: dict, unit: str) -> dict:
    return next(r for r in board["rows"] if r["unit_code"] == unit)


async def test_towns_rank_among_towns_with_every_indicator_shown(examples):
    board = await examples.get("/api/scoreboard", period="2013-Q2", level="town")
    assert len(board["rows"]) == 11
    ranked = [r["rank"] for r in board["rows"] if r["rank"] is not None]
    assert ranked == sorted(ranked) == [r["rank"] for r in board["rows"][:len(ranked)]]  # the unranked come last
    getabu, zhongxinjie = row(board, "370402002000"), row(board, ZHONGXINJIE)
    assert (getabu["score"], getabu["rank"]) == (72.73, 1)  # Li Na alone, as in 长安社区
    # 15·(1/2)/0.95 + 10·1 over weights 15+15+15+10+10+15 (docs/assessment.md, example 6)
    assert (zhongxinjie["score"], zhongxinjie["rank"], zhongxinjie["flags"]) == (22.37, 2, ["bottom"])
    # Q2 is 垎塔埠街道's first assessed period: no earlier rank, not a rise; 中心街街道 was 1st in Q1.
    assert (getabu["previous_rank"], getabu["rank_change"]) == (None, None)
    assert (zhongxinjie["previous_rank"], zhongxinjie["rank_change"]) == (1, -1)
    # Nobody to count: no rank, no score, no attainment (not 100), listed after the ranked towns.
    assert [(r["rank"], r["score"], r["attainment"], r["flags"]) for r in board["rows"][2:]] == [(None, None, None, ["not_assessed"])] * 9
    assert set(getabu["indicators"]) == {i["id"] for i in board["indicators"]}
    assert getabu["indicators"]["free_pregnancy_checks"] == {
        "numerator": 1, "denominator": 1, "rate": 1.0, "target": 0.9, "gap": -0.1, "shortfall": 0, "band": "green",
    }


async def test_an_unreported_birth_found_in_a_village_costs_it_and_its_town_five_points(examples):
    villages = await examples.get("/api/scoreboard", period="2013-11", level="village", parent=ZHONGXINJIE)
    jianshe = row(villages, JIANSHE)
    assert (jianshe["penalty"], jianshe["penalties"]) == (5.0, {"unreported_birth": 5.0})
    assert "penalty" in jianshe["flags"]
    towns = await examples.get("/api/scoreboard", period="2013", level="town")
    assert row(towns, ZHONGXINJIE)["penalty"] == 5.0
    october = await examples.get("/api/scoreboard", period="2013-10", level="village", parent=ZHONGXINJIE)
    assert row(october, JIANSHE)["penalty"] == 0.0


async def test_a_late_reply_the_district_owed_costs_a_point(running):
    request_id, resident = uuid.uuid4(), uuid.uuid4()
    stream = f"verification-{request_id}"
    common = {"stream_id": stream, "unit_code": XINHUA, "source": "registry"}
    asked = Envelope.new(
        event_type="VerificationRequested", stream_version=1, occurred_at=instant("2013-06-01"), **common,
        payload={"request_id": str(request_id), "resident_id": str(resident), "direction": "incoming",
                 "kind": "current_pregnancy", "counterpart_place": "371322", "subject": "孕情核实",
                 "requested_on": "2013-06-01", "due_on": "2013-06-16", "raised_by": "staff"},
    )
    replied = Envelope.new(
        event_type="VerificationReplied", stream_version=2, occurred_at=instant("2013-06-19"), **common,
        payload={"request_id": str(request_id), "resident_id": str(resident), "replied_on": "2013-06-19",
                 "outcome": "confirmed", "note": "", "days_late": 3},
    )
    await running.publish([asked, replied])
    await running.settled()
    board = await running.get("/api/scoreboard", period="2013-06", level="village", parent=ZHONGXINJIE)
    assert row(board, XINHUA)["penalties"] == {"late_verification_reply": 1.0}


async def test_a_veto_puts_the_unit_last_and_is_an_event_on_assessment_events(examples):
    before = await examples.get("/api/scoreboard", period="2013-Q2", level="village", parent=ZHONGXINJIE)
    # 建设社区 (27.53) first, 新华社区 (0) second; eight villages with nobody to count unranked
    assert (row(before, JIANSHE)["rank"], row(before, XINHUA)["rank"]) == (1, 2)
    response = await examples.http.post("/api/vetoes", json={
        "unit_code": JIANSHE, "period": "2013-05", "reason": "瞒报出生", "decided_by": "区流动人口计划生育服务管理中心",
    })
    assert response.status_code == 201, response.text
    after = await examples.get("/api/scoreboard", period="2013-Q2", level="village", parent=ZHONGXINJIE)
    jianshe = row(after, JIANSHE)
    # Last of the ranked villages: never below the eight with nobody to count, which have no rank.
    assert (jianshe["rank"], jianshe["veto"], jianshe["veto_reason"]) == (2, True, "瞒报出生")
    assert [r["unit_code"] for r in after["rows"][:2]] == [XINHUA, JIANSHE]
    assert row(after, XINHUA)["rank"] == 1 and "bottom" not in row(after, XINHUA)["flags"]
    assert "veto" in jianshe["flags"] and "bottom" in jianshe["flags"]
    april = await examples.get("/api/scoreboard", period="2013-04", level="village", parent=ZHONGXINJIE)
    assert not row(april, JIANSHE)["veto"]
    again = await examples.http.post("/api/vetoes", json={
        "unit_code": JIANSHE, "period": "2013-05", "reason": "again", "decided_by": "区中心",
    })
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "unit_code"

    async def on_the_topic() -> bool:
        return bool(await published(examples, "VetoApplied"))

    await wait_until(on_the_topic, timeout=30, what="VetoApplied on assessment.events")


async def test_a_published_ranking_orders_the_bottom_unit_to_rectify_until_its_plan_is_in(examples):
    response = await examples.http.post("/api/rankings", json={"period": "2013-Q2", "level": "village", "parent": ZHONGXINJIE})
    assert response.status_code == 201, response.text
    ranking, order = response.json()
    assert ranking["event_type"] == "RankingPublished" and ranking["payload"]["parent_unit"] == ZHONGXINJIE
    assert [r["unit_code"] for r in ranking["payload"]["rows"][:2]] == [JIANSHE, XINHUA]
    assert len(ranking["payload"]["rows"]) == 2  # the eight villages with nobody to count are not ranked
    bottom = XINHUA  # the villages with nobody to count are never the bottom
    assert order["event_type"] == "RectificationRequired" and order["payload"]["unit_code"] == bottom
    board = await examples.get("/api/scoreboard", period="2013-Q2", level="village", parent=ZHONGXINJIE)
    assert "rectification_required" in row(board, bottom)["flags"]

    plan = await examples.http.post("/api/rectifications/plans", json={
        "unit_code": bottom, "period": "2013-Q2", "summary": "书面检查汇报；整改方案：每月入户随访", "documents": DOCUMENTS,
    })
    assert plan.status_code == 201, plan.text
    board = await examples.get("/api/scoreboard", period="2013-Q2", level="village", parent=ZHONGXINJIE)
    assert "rectification_plan_submitted" in row(board, bottom)["flags"]
    assert "rectification_required" not in row(board, bottom)["flags"]
    [listed] = await examples.get("/api/rectifications", period="2013-Q2")
    assert listed["status"] == "plan_submitted"

    async def all_three_published() -> bool:
        return all([await published(examples, t) for t in ("RankingPublished", "RectificationRequired", "RectificationPlanSubmitted")])

    await wait_until(all_three_published, timeout=30, what="the decisions on assessment.events")


async def test_a_plan_without_an_order_is_a_decision_that_cannot_be_taken(running):
    response = await running.http.post(
        "/api/rectifications/plans", json={"unit_code": CHANGAN, "period": "2013", "summary": "x", "documents": DOCUMENTS}
    )
    assert response.status_code == 409, response.text
    assert response.json()["errors"] == [{"field": "unit_code", "reason": f"{CHANGAN} has no rectification order for 2013"}]


async def test_every_figure_that_moved_is_announced_with_its_latest_value(examples):
    def figures(changes: list[dict]) -> list[dict]:
        return [f for m in sorted(changes, key=lambda m: m["stream_version"]) for f in m["payload"]["figures"]]

    def latest_of(changes: list[dict]) -> dict:
        return {(f["unit_code"], f["indicator"], f["period"]): f for f in figures(changes)}

    # The announcer sends what moved in several announcements, as it finds it: waited for until
    # the last figures the examples make are out, not only the first of them.
    async def announced() -> bool:
        latest = latest_of(await published(examples, "CoverageChanged"))
        return (CHANGAN, "free_pregnancy_checks", "2013-Q2") in latest and \
            latest.get((JIANSHE, "services_where_they_live", "2013-12"), {}).get("denominator") == 3

    await wait_until(announced, timeout=60, what="CoverageChanged on assessment.events")
    changes = await published(examples, "CoverageChanged")
    # One stream, the district's, versions without a gap: a reader applies them in order.
    assert {m["stream_id"] for m in changes} == {"coverage-370402000000"}
    assert sorted(m["stream_version"] for m in changes) == list(range(1, len(changes) + 1))
    assert all(m["schema_version"] == 2 for m in changes)
    latest = latest_of(changes)
    assert latest[(CHANGAN, "free_pregnancy_checks", "2013-Q2")] == {
        "unit_code": CHANGAN, "indicator": "free_pregnancy_checks", "period": "2013-Q2", "numerator": 1,
        "denominator": 1, "rate": 1.0, "target": 0.9, "band": "green",
    }
    assert latest[(JIANSHE, "services_where_they_live", "2013-12")]["denominator"] == 3
    # Fewer announcements than cells announced: many figures share one event, each cell once.
    for m in changes:
        cells = [(f["unit_code"], f["indicator"], f["period"]) for f in m["payload"]["figures"]]
        assert len(cells) == len(set(cells))
    assert len(changes) < len(latest)


async def test_decisions_are_recorded_on_the_systems_clock_and_seen_only_from_then(settings, serve):
    """The demo replays 2013-14 on a simulated clock: a veto decided then is known from then."""
    replay = settings.model_copy(update={
        "clock_start": instant("2014-01-08T10:00"), "clock_started_at": datetime.now(UTC), "clock_speed": 1.0,
    })
    async with serve(replay) as running:
        await running.publish(worked_examples().events)
        await running.settled()
        response = await running.http.post("/api/vetoes", json={
            "unit_code": CHANGAN, "period": "2013", "reason": "瞒报出生", "decided_by": "区中心",
        })
        assert response.json()["recorded_at"].startswith("2014-01-08T10:00")
        args = {"period": "2013", "level": "village", "parent": "370402002000"}
        before = await running.get("/api/scoreboard", **args, known_at="2014-01-07")
        after = await running.get("/api/scoreboard", **args, known_at="2014-01-08")
        assert not row(before, CHANGAN)["veto"] and row(after, CHANGAN)["veto"]


async def test_villages_of_every_town_are_published_only_for_towns_with_someone_to_rank(examples):
    """Without a parent: one ranking per town whose villages have anyone to count (中心街街道 and
    垎塔埠街道 in Q2); the nine others have nobody to rank and publish nothing, not a refusal."""
    response = await examples.http.post("/api/rankings", json={"period": "2013-Q2", "level": "village"})
    assert response.status_code == 201, response.text
    rankings = [e["payload"] for e in response.json() if e["event_type"] == "RankingPublished"]
    assert sorted(r["parent_unit"] for r in rankings) == sorted([ZHONGXINJIE, "370402002000"])
    assert all(row["score"] is not None for r in rankings for row in r["rows"])
