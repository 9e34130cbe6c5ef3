"""Through HTTP and the store: a unit's responsibility letter beside its own figures; a veto
that holds people to account without their names leaving the assessment, and its revocation;
the top unit rewarded beside the penalties (docs/rectification.md)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from assessment_examples import CHANGAN, JIANSHE, XINHUA, ZHONGXINJIE, worked_examples
from platform_kit.testing import bearer

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
GETABU = "370402002000"  # 长安社区's town


@pytest.fixture
async def examples(running):
    await running.publish(worked_examples().events)
    await running.settled()
    return running


def row(board: dict, unit: str) -> dict:
    return next(r for r in board["rows"] if r["unit_code"] == unit)


async def test_a_unit_is_compared_with_its_own_letter(examples):
    letter = {"unit_code": CHANGAN, "year": 2013, "targets": {"free_pregnancy_checks": 0.95, "policy_awareness": 0.5},
              "signed_on": "2013-01-15", "signed_by": "垎塔埠街道办事处"}
    village = {"headers": bearer("village", CHANGAN)}
    assert (await examples.http.post("/api/letters", json=letter, **village)).status_code == 403  # not by itself
    town = {"headers": bearer("town", GETABU)}
    signed = await examples.http.post("/api/letters", json=letter, **town)
    assert signed.status_code == 201, signed.text
    assert (await examples.http.post("/api/letters", json=letter, **town)).status_code == 409
    late = await examples.http.post("/api/letters", json=letter | {"year": 2014, "signed_on": "2014-06-01"})
    assert late.status_code == 422 and late.json()["errors"][0]["field"] == "signed_on"
    unknown = await examples.http.post("/api/letters", json=letter | {"year": 2014, "targets": {"births": 0.9}})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "targets.births"

    compared = await examples.get(f"/api/units/{CHANGAN}/letter", year=2013)
    coverage = await examples.get(f"/api/units/{CHANGAN}/coverage", period="2013")
    figure = {i["id"]: i for i in coverage["indicators"]}
    lines = {line["indicator"]: line for line in compared["comparison"]}
    assert set(lines) == {"free_pregnancy_checks", "policy_awareness"}
    checks = lines["free_pregnancy_checks"]
    assert (checks["numerator"], checks["denominator"]) == (figure["free_pregnancy_checks"]["numerator"],
                                                             figure["free_pregnancy_checks"]["denominator"])
    assert checks["target"] == 0.95 and checks["met"] == (checks["rate"] >= 0.95)
    assert (await examples.http.get(f"/api/units/{CHANGAN}/letter", params={"year": 2014})).status_code == 404


async def test_a_letter_binds_from_the_day_it_was_signed_not_the_day_it_was_recorded(examples):
    letter = {"unit_code": CHANGAN, "year": 2013, "targets": {"free_pregnancy_checks": 0.95},
              "signed_on": "2013-01-15", "signed_by": "垎塔埠街道办事处"}
    town = {"headers": bearer("town", GETABU)}
    signed = await examples.http.post("/api/letters", json=letter, **town)
    assert signed.status_code == 201, signed.text
    assert signed.json()["occurred_at"].startswith("2013-01-15T00:00:00")  # recorded years later (the clock)
    assert signed.json()["recorded_at"] > signed.json()["occurred_at"]

    # In force in February, as the district now knows it; unknown to anyone asking in February.
    february = await examples.get(f"/api/units/{CHANGAN}/letter", year=2013, as_of="2013-02-01T00:00:00+08:00")
    assert february["letter"]["signed_on"] == "2013-01-15"
    for clocks in ({"as_of": "2013-01-14T12:00:00+08:00"}, {"known_at": "2013-02-01T00:00:00+08:00"}):
        answer = await examples.http.get(f"/api/units/{CHANGAN}/letter", params={"year": 2013, **clocks})
        assert answer.status_code == 404, (clocks, answer.text)

    tomorrow = (date.fromisoformat(signed.json()["recorded_at"][:10]) + timedelta(days=2))
    future = await examples.http.post("/api/letters", json=letter | {
        "year": tomorrow.year + 1, "signed_on": tomorrow.isoformat()}, **town)
    assert (future.status_code, future.json()["errors"][0]["field"]) == (422, "signed_on"), future.text


async def test_a_veto_names_its_people_to_the_district_only_and_is_revoked_later(examples):
    veto = await examples.http.post("/api/vetoes", json={
        "unit_code": JIANSHE, "period": "2013-Q2", "reason": "瞒报出生", "decided_by": "区中心",
        "responsible": [{"role": "principal", "name": "张建国"}, {"role": "other", "name": "李红"}],
    })
    assert veto.status_code == 201, veto.text
    payload = veto.json()["payload"]
    assert "张建国" not in str(payload) and payload["responsible_roles"] == ["principal", "other"]
    [listed] = await examples.get("/api/vetoes", period="2013-Q2")
    assert [p["name"] for p in listed["responsible"]] == ["张建国", "李红"]
    town = await examples.http.get("/api/vetoes", params={"period": "2013-Q2"}, headers=bearer("town", ZHONGXINJIE))
    assert town.json()[0]["responsible"] is None

    board = await examples.get("/api/scoreboard", period="2013-Q2", level="village", parent=ZHONGXINJIE)
    assert row(board, JIANSHE)["veto"] and "reward" not in row(board, JIANSHE)["flags"]
    assert "reward" in row(board, XINHUA)["flags"]  # first once 建设社区 is vetoed

    revoked = await examples.http.post("/api/vetoes/revocations", json={
        "unit_code": JIANSHE, "period": "2013-Q2", "reason": "复核为医院报送延误", "decided_by": "区中心",
    })
    assert revoked.status_code == 201, revoked.text
    assert revoked.json()["payload"]["revokes"] == veto.json()["event_id"]
    board = await examples.get("/api/scoreboard", period="2013-Q2", level="village", parent=ZHONGXINJIE)
    assert not row(board, JIANSHE)["veto"] and "reward" in row(board, JIANSHE)["flags"]
    assert "reward" not in row(board, XINHUA)["flags"]
    [listed] = await examples.get("/api/vetoes", period="2013-Q2")
    assert listed["revoked"]["reason"] == "复核为医院报送延误"
    again = await examples.http.post("/api/vetoes/revocations", json={
        "unit_code": JIANSHE, "period": "2013-Q2", "reason": "x", "decided_by": "区中心",
    })
    assert again.status_code == 409


async def test_an_amended_letter_is_compared_as_amended_by_the_day_asked_and_its_history_kept(examples):
    letter = {"unit_code": CHANGAN, "year": 2013, "targets": {"free_pregnancy_checks": 0.95, "policy_awareness": 0.5},
              "signed_on": "2013-01-15", "signed_by": "垎塔埠街道办事处"}
    town = {"headers": bearer("town", GETABU)}
    signed = await examples.http.post("/api/letters", json=letter, **town)
    assert signed.status_code == 201, signed.text
    amendment = {"unit_code": CHANGAN, "year": 2013, "targets": {"free_pregnancy_checks": 0.2, "births": 0.9},
                 "reason": "孕检点迁址，区中心会议决定调整", "decided_by": "垎塔埠街道办事处"}
    unknown = await examples.http.post("/api/letters/amendments", json=amendment, **town)
    assert (unknown.status_code, unknown.json()["errors"][0]["field"]) == (422, "targets.births")
    amendment["targets"] = {"free_pregnancy_checks": 0.2}
    by_itself = await examples.http.post("/api/letters/amendments", json=amendment, headers=bearer("village", CHANGAN))
    assert by_itself.status_code == 403

    amended = await examples.http.post("/api/letters/amendments", json=amendment, **town)

    assert amended.status_code == 201, amended.text
    assert amended.json()["payload"]["amends"] == signed.json()["event_id"]
    assert amended.json()["stream_id"] == signed.json()["stream_id"] and amended.json()["stream_version"] == 2
    now = await examples.get(f"/api/units/{CHANGAN}/letter", year=2013)
    lines = {line["indicator"]: line for line in now["comparison"]}
    assert lines["free_pregnancy_checks"]["target"] == 0.2 and lines["policy_awareness"]["target"] == 0.5
    assert lines["free_pregnancy_checks"]["met"] == (lines["free_pregnancy_checks"]["rate"] >= 0.2)
    assert now["letter"]["signed_targets"]["free_pregnancy_checks"] == 0.95
    [kept] = now["letter"]["amendments"]
    assert (kept["reason"], kept["targets"]) == ("孕检点迁址，区中心会议决定调整", {"free_pregnancy_checks": 0.2})

    # Asked as of the moment the letter was signed (before the amendment): the letter as signed.
    for clock in ("as_of", "known_at"):
        before = await examples.get(f"/api/units/{CHANGAN}/letter", year=2013, **{clock: signed.json()["recorded_at"]})
        assert {line["indicator"]: line["target"] for line in before["comparison"]}["free_pregnancy_checks"] == 0.95
        assert before["letter"]["amendments"] == []

    same = await examples.http.post("/api/letters/amendments", json=amendment, **town)
    assert (same.status_code, same.json()["errors"][0]["field"]) == (422, "targets")
    early = await examples.http.post("/api/letters/amendments", json=amendment | {
        "targets": {"policy_awareness": 0.6}, "occurred_at": "2013-01-01T09:00:00+08:00"}, **town)
    assert (early.status_code, early.json()["errors"][0]["field"]) == (422, "occurred_at")
    none = await examples.http.post("/api/letters/amendments", json=amendment | {"year": 2014}, **town)
    assert (none.status_code, none.json()["errors"][0]["field"]) == (404, "unit_code")
