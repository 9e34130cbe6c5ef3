"""Vetoes and rectification orders on the two clocks, as the figures are read: ``as_of`` (what had
been decided by then) and ``known_at`` (what had been recorded by then); a bad value is a 422
naming the parameter (docs/rectification.md)."""

from __future__ import annotations

import pytest

from assessment_examples import JIANSHE, XINHUA, ZHONGXINJIE, worked_examples

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
DOCUMENTS = [
    {"kind": kind, "name": f"{kind}.pdf", "media_type": "application/pdf", "sha256": digit * 64, "size": 1, "reference": "档案"}
    for kind, digit in (("written_report", "b"), ("rectification_plan", "c"))
]


@pytest.fixture
async def examples(running):
    await running.publish(worked_examples().events)
    await running.settled()
    return running


async def test_a_veto_revoked_later_is_in_force_as_of_a_day_before_and_as_known_before(examples):
    veto = await examples.http.post("/api/vetoes", json={
        "unit_code": JIANSHE, "period": "2013-Q2", "reason": "瞒报出生", "decided_by": "区中心",
        "occurred_at": "2013-07-05T10:00:00+08:00",
    })
    assert veto.status_code == 201, veto.text
    revoked = await examples.http.post("/api/vetoes/revocations", json={
        "unit_code": JIANSHE, "period": "2013-Q2", "reason": "复核为医院报送延误", "decided_by": "区中心",
    })
    assert revoked.status_code == 201, revoked.text

    [now] = await examples.get("/api/vetoes", period="2013-Q2")
    assert now["revoked"] is not None
    assert await examples.get("/api/vetoes", period="2013-Q2", as_of="2013-07-04") == []
    [then] = await examples.get("/api/vetoes", period="2013-Q2", as_of="2013-12-31")
    assert (then["unit_code"], then["revoked"]) == (JIANSHE, None)  # the revocation was decided years later
    [known] = await examples.get("/api/vetoes", period="2013-Q2", known_at=veto.json()["recorded_at"])
    assert known["revoked"] is None
    assert await examples.get("/api/vetoes", known_at="2013-07-05") == []  # recorded only now


async def test_an_order_stands_as_it_stood_when_asked(examples):
    ranked = await examples.http.post("/api/rankings", json={"period": "2013-Q2", "level": "village", "parent": ZHONGXINJIE})
    assert ranked.status_code == 201, ranked.text
    ordered_at = ranked.json()[1]["recorded_at"]
    plan = await examples.http.post("/api/rectifications/plans", json={
        "unit_code": XINHUA, "period": "2013-Q2", "summary": "书面检查汇报；整改方案：每月入户随访", "documents": DOCUMENTS,
    })
    assert plan.status_code == 201, plan.text

    [now] = await examples.get("/api/rectifications", period="2013-Q2")
    [then] = await examples.get("/api/rectifications", period="2013-Q2", known_at=ordered_at)
    assert (now["status"], then["status"]) == ("plan_submitted", "open")
    [still_open] = await examples.get("/api/rectifications", open="true", as_of=ordered_at)
    assert still_open["unit_code"] == XINHUA and still_open["status"] == "open"
    assert await examples.get("/api/rectifications", as_of="2013-06-30") == []  # ordered only now


@pytest.mark.parametrize("path", ["/api/vetoes", "/api/rectifications"])
@pytest.mark.parametrize("name", ["as_of", "known_at"])
@pytest.mark.parametrize("value", ["2013-02-30", "yesterday", "2013-13"])
async def test_a_clock_that_is_no_instant_is_refused_naming_it(running, path, name, value):
    answer = await running.http.get(path, params={name: value})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == f"query.{name}"
