"""The rectification cycle through the public APIs and topics, the four services running as in
production (docs/rectification.md): the village ranked last is told, hands in its written report
and plan, has them returned with reasons, hands them in again, has them accepted with a check
date, and is checked; each step is an event on assessment.events and a message in its inbox."""

from __future__ import annotations

import base64
import hashlib
import uuid

import httpx
from district_api import Api, eventually, married_migrant_woman, read_topic

from platform_kit.testing import bearer

TOWN = "370402003000"  # the third town; its first two villages
SERVED, UNSERVED = "370402003001", "370402003002"
PERIOD = "2013-Q2"
CYCLE = [
    "RectificationRequired", "RectificationPlanSubmitted", "RectificationPlanReturned",
    "RectificationPlanSubmitted", "RectificationPlanAccepted", "RectificationChecked",
]


def rule_items(inbox: list[dict], rule: str) -> list[dict]:
    return [i for i in inbox if i["rule"] == rule]


def documents(round_: int) -> list[dict]:
    report = f"第{round_}次书面检查汇报：孕检工作未落实到户。".encode()
    return [
        {"kind": "written_report", "name": f"书面检查汇报-{round_}.txt", "media_type": "text/plain",
         "sha256": hashlib.sha256(report).hexdigest(), "size": len(report),
         "content_base64": base64.b64encode(report).decode()},
        {"kind": "rectification_plan", "name": f"整改方案-{round_}.pdf", "media_type": "application/pdf",
         "sha256": hashlib.sha256(f"plan {round_}".encode()).hexdigest(), "size": 9,
         "reference": f"第三街道档案 2013-整改-{round_}"},
    ]


async def test_the_village_ranked_last_is_told_submits_is_returned_resubmits_is_accepted_and_checked(district, stack):
    api = Api(district)
    village = httpx.AsyncClient(timeout=15, headers=bearer("village", UNSERVED))
    neighbour = httpx.AsyncClient(timeout=15, headers=bearer("village", SERVED))
    try:
        await _cycle(api, village, neighbour, district, stack)
    finally:
        await api.close()
        await village.aclose()
        await neighbour.aclose()


async def _cycle(api: Api, village: httpx.AsyncClient, neighbour: httpx.AsyncClient, district, stack) -> None:
    # Two married women, one in each village; only the first village gives her a pregnancy check.
    served = (await api.post("registry", "/api/residents", married_migrant_woman(SERVED, 31), 201))["resident_id"]
    await api.post("registry", "/api/residents", married_migrant_woman(UNSERVED, 32), 201)
    await api.post("services-log", "/api/staff", {
        "staff_ref": "staff-0412", "unit_code": SERVED, "role": "manager", "name": "张丽", "assigned_on": "2013-01-01"}, 201)
    await api.post("services-log", "/api/services", {
        "service_id": str(uuid.uuid4()), "service_kind": "pregnancy_check", "resident_id": served,
        "delivered_by_unit": SERVED, "staff_ref": "staff-0412", "free_of_charge": True,
        "occurred_at": "2013-05-20T10:00:00+08:00",
    }, 201)
    await eventually(
        lambda: api.figures(SERVED, PERIOD), lambda f: f["free_pregnancy_checks"] == (1, 1), "the check counted"
    )
    await eventually(
        lambda: api.figures(UNSERVED, PERIOD), lambda f: f["free_pregnancy_checks"] == (0, 1), "the other counted"
    )

    # The district publishes the ranking: the unserved village is last and ordered to rectify.
    ranking, order = await api.post("assessment", "/api/rankings", {"period": PERIOD, "level": "village", "parent": TOWN}, 201)
    assert [r["unit_code"] for r in ranking["payload"]["rows"][:2]] == [SERVED, UNSERVED]
    assert (order["event_type"], order["payload"]["unit_code"]) == ("RectificationRequired", UNSERVED)

    # ... and every unit is told its own place; the last one also its order.
    inbox = await eventually(
        lambda: api.inbox(UNSERVED),
        lambda i: rule_items(i, "ranking_published") and rule_items(i, "rectification_order"), "the ranking and the order",
    )
    [told] = [i for i in rule_items(inbox, "ranking_published") if PERIOD in i["text"]]
    # Two ranked: the town's other villages have nobody to count, and are not ranked.
    assert "第2名" in told["text"] and "共2个单位" in told["text"], told["text"]
    first = [i for i in rule_items(await api.inbox(SERVED), "ranking_published") if PERIOD in i["text"]]
    assert len(first) == 1 and "第1名" in first[0]["text"]

    # The neighbour may not hand in a plan for it; the village itself may, with both documents.
    body = {"unit_code": UNSERVED, "period": PERIOD, "summary": "入户补检", "documents": documents(1)}
    assert (await neighbour.post(api.url("assessment", "/api/rectifications/plans"), json=body)).status_code == 403
    without_report = body | {"documents": documents(1)[1:] * 2}
    refused = await village.post(api.url("assessment", "/api/rectifications/plans"), json=without_report)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "documents", refused.text
    submitted = await village.post(api.url("assessment", "/api/rectifications/plans"), json=body)
    assert submitted.status_code == 201, submitted.text
    report = submitted.json()["payload"]["documents"][0]
    assert report["reference"] == f"assessment:documents/{report['sha256']}"
    kept = await village.get(api.url("assessment", f"/api/rectifications/documents/{report['sha256']}"))
    assert kept.status_code == 200 and hashlib.sha256(kept.content).hexdigest() == report["sha256"]
    other = await neighbour.get(api.url("assessment", f"/api/rectifications/documents/{report['sha256']}"))
    assert other.status_code == 404

    # Returned with reasons: due again by a new date, and the village is told why.
    returned = await api.post("assessment", "/api/rectifications/reviews", {
        "unit_code": UNSERVED, "period": PERIOD, "decision": "return", "reasons": ["整改措施未落实到人"],
        "due": "2013-06-25", "decided_by": "区流动人口计划生育服务管理中心",
    }, 201)
    assert returned["event_type"] == "RectificationPlanReturned"
    [open_order] = await api.get("assessment", "/api/rectifications", open="true", unit_code=UNSERVED)
    assert (open_order["status"], open_order["round"], open_order["next_deadline"]) == ("returned", 2, "2013-06-25")
    inbox = await eventually(lambda: api.inbox(UNSERVED), lambda i: rule_items(i, "rectification_resubmission"), "the return")
    assert "整改措施未落实到人" in rule_items(inbox, "rectification_resubmission")[0]["text"]

    # Handed in again, accepted with a check date, checked: the order is closed.
    again = await village.post(api.url("assessment", "/api/rectifications/plans"), json=body | {"documents": documents(2)})
    assert again.status_code == 201 and again.json()["payload"]["round"] == 2, again.text
    await api.post("assessment", "/api/rectifications/reviews", {
        "unit_code": UNSERVED, "period": PERIOD, "decision": "accept", "reasons": ["措施具体，责任到人"],
        "due": "2013-08-30", "decided_by": "区流动人口计划生育服务管理中心",
    }, 201)
    [accepted] = await api.get("assessment", "/api/rectifications", open="true", unit_code=UNSERVED)
    assert (accepted["status"], accepted["next_deadline"]) == ("accepted", "2013-08-30")
    village_check = await village.post(api.url("assessment", "/api/rectifications/checks"), json={
        "unit_code": UNSERVED, "period": PERIOD, "result": "rectified", "findings": "x", "checked_by": "x",
    })
    assert village_check.status_code == 403  # only the district checks
    await api.post("assessment", "/api/rectifications/checks", {
        "unit_code": UNSERVED, "period": PERIOD, "result": "rectified", "findings": "补检完成，台账齐全",
        "checked_by": "区流动人口计划生育服务管理中心",
    }, 201)
    assert await api.get("assessment", "/api/rectifications", open="true", unit_code=UNSERVED) == []
    [closed] = await api.get("assessment", "/api/rectifications", period=PERIOD)
    assert (closed["status"], closed["check_result"]) == ("checked", "rectified")

    inbox = await eventually(
        lambda: api.inbox(UNSERVED), lambda i: rule_items(i, "rectification_checked"), "the check's result"
    )
    assert rule_items(inbox, "rectification_check") and "已整改到位" in rule_items(inbox, "rectification_checked")[0]["text"]

    # On the topic: the whole cycle, in order, on the order's stream; no document's bytes.
    stream = f"rectification-{UNSERVED}-{PERIOD}"

    async def cycle_on_the_topic() -> list[dict]:
        records = await read_topic(stack.bootstrap_servers, district.namespace + "assessment.events")
        return sorted((v for _, v in records if v.get("stream_id") == stream), key=lambda v: v["stream_version"])

    published = await eventually(cycle_on_the_topic, lambda c: len(c) == len(CYCLE), "the cycle on assessment.events")
    assert [e["event_type"] for e in published] == CYCLE
    assert all("content_base64" not in str(e["payload"]) for e in published)
