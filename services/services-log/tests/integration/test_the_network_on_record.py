"""The network on record: staff on the roster, the roster checked on every service staff record,
and a year of the network per unit beside the source document's figures — on the real broker
and database."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from platform_kit.testing import delete_topics_of, wait_until

CST = timezone(timedelta(hours=8))
YONGFU, KANGLE, LONGSHAN = "370402005001", "370402005002", "370402005000"  # 龙山路街道 and two of its communities
JIANSHE = "370402001001"  # a community of 中心街街道
NAME = "欧阳秀英"


@pytest.fixture
async def network(harness):
    await harness.start()
    yield harness
    await harness.stop()
    delete_topics_of(harness.stack.bootstrap_servers, harness.namespace)


def staff(ref: str, unit: str, role: str = "manager", **fields) -> dict:
    return {"staff_ref": ref, "unit_code": unit, "role": role, "name": NAME, "assigned_on": "2013-01-02"} | fields


def visit(staff_ref: str) -> dict:
    return {
        "service_kind": "policy_publicity", "household_ref": "household-0042", "delivered_by_unit": YONGFU,
        "staff_ref": staff_ref, "occurred_at": datetime(2013, 6, 3, 9, 30, tzinfo=CST).isoformat(),
    }


async def test_a_service_by_staff_not_on_the_roster_is_refused_naming_staff_ref(network):
    refused = await network.http.post("/api/services", json=visit("staff-9999"))

    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "staff_ref"
    assert "not on the roster" in refused.json()["errors"][0]["reason"]
    assert await network.stored_events("ServiceDelivered") == []

    assert (await network.http.post("/api/staff", json=staff("staff-9999", YONGFU))).status_code == 201
    accepted = await network.http.post("/api/services", json=visit("staff-9999"))
    assert accepted.status_code == 201, accepted.text


async def test_a_survey_naming_staff_not_on_the_roster_is_refused(network):
    survey = {"survey_kind": "policy_awareness", "resident_id": str(uuid.uuid4()), "aware": True,
              "surveyed_by_unit": YONGFU, "staff_ref": "staff-0001",
              "occurred_at": datetime(2013, 6, 3, 9, 30, tzinfo=CST).isoformat()}
    refused = await network.http.post("/api/surveys", json=survey)
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "staff_ref")


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"name": "13812345678"}, "name"), ({"name": "张 3"}, "name"), ({"staff_ref": "张丽"}, "staff_ref"),
     ({"role": "volunteer"}, "role"), ({"unit_code": "370402999999"}, "unit_code"),
     ({"assigned_on": "2099-01-01"}, "assigned_on")],
)
async def test_a_bad_assignment_is_refused_naming_the_field(network, fields, field):
    answer = await network.http.post("/api/staff", json=staff("staff-0001", YONGFU) | fields)

    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == field
    assert "13812345678" not in answer.text
    assert await network.stored_events("StaffAssigned") == []


async def test_the_name_is_sealed_on_kafka_and_a_repeat_records_nothing(network):
    first = await network.http.post("/api/staff", json=staff("staff-0001", YONGFU))
    again = await network.http.post("/api/staff", json=staff("staff-0001", YONGFU, name="李梅"))
    moved = await network.http.post("/api/staff", json=staff("staff-0001", KANGLE, assigned_on="2013-07-01"))

    assert (first.status_code, again.status_code, moved.status_code) == (201, 200, 201)
    assert again.json()["replayed"] and moved.json()["stream_version"] == 2

    async def both_published() -> bool:
        return len([e for e in await network.published() if e.event_type == "StaffAssigned"]) == 2

    await wait_until(both_published, timeout=30, what="the two assignments on services.events")
    raw = [e.model_dump_json() for e in await network.published()]
    assert all(NAME not in message and "欧阳" not in message for message in raw)
    assigned = [e for e in await network.published() if e.event_type == "StaffAssigned"]
    assert set(assigned[0].payload["personal"]) == {"key_id", "nonce", "ciphertext"}
    listed = (await network.http.get("/api/staff", params={"unit_code": LONGSHAN})).json()
    assert [(s["staff_ref"], s["unit_code"]) for s in listed] == [("staff-0001", KANGLE)]


async def test_a_year_of_the_network_adds_up_per_unit_beside_the_document(network):
    for ref, unit, role in [("staff-0001", YONGFU, "manager"), ("staff-0002", YONGFU, "assistant"),
                            ("staff-0003", KANGLE, "assistant"), ("staff-0004", JIANSHE, "manager")]:
        assert (await network.http.post("/api/staff", json=staff(ref, unit, role))).status_code == 201
    late = staff("staff-0005", JIANSHE, "assistant", assigned_on="2014-01-02")
    assert (await network.http.post("/api/staff", json=late)).status_code == 201  # not on 2013's roster
    at = datetime(2013, 5, 8, 9, 0, tzinfo=CST).isoformat()
    for body in [
        {"held_by_unit": LONGSHAN, "topic": "业务培训", "person_times": 30, "trainee_refs": ["staff-0001", "staff-0003"], "occurred_at": at},
        {"held_by_unit": JIANSHE, "topic": "业务培训", "person_times": 12, "trainee_refs": ["staff-0004"], "occurred_at": at},
        {"held_by_unit": JIANSHE, "topic": "就业培训", "person_times": 50, "audience": "migrants", "occurred_at": at},
        {"held_by_unit": JIANSHE, "topic": "去年的培训", "person_times": 9, "occurred_at": at.replace("2013", "2012")},
    ]:
        assert (await network.http.post("/api/trainings", json=body)).status_code == 201
    for ref, people in [("association-03", 40), ("association-03", 25), ("association-01", 60)]:
        body = {"association_ref": ref, "activity": "计生知识讲座", "participants": people, "occurred_at": at}
        assert (await network.http.post("/api/association-activities", json=body)).status_code == 201

    answer = await network.http.get("/api/network", params={"year": 2013})

    assert answer.status_code == 200, answer.text
    year = answer.json()
    by_unit = {u["unit_code"]: u for u in year["units"]}
    district, longshan, yongfu = year["district"], by_unit[LONGSHAN], by_unit[YONGFU]
    assert (district["managers"], district["assistants"]) == (2, 2)
    assert (district["trainings"], district["training_person_times"], district["trained_staff"]) == (2, 42, 3)
    assert (district["association_activities"], district["association_participants"], district["associations_active"]) == (3, 125, 2)
    assert (longshan["managers"], longshan["assistants"], longshan["training_person_times"]) == (1, 2, 30)
    assert (longshan["association_activities"], longshan["association_participants"]) == (2, 65)
    assert (yongfu["managers"], yongfu["assistants"], yongfu["training_person_times"]) == (1, 1, 0)
    assert year["document"]["managers"] == 177 and year["document"]["assistants"] == 927
    assert year["document"]["associations"] == 13 and year["document"]["training_person_times_at_least"] == 400

    exported = await network.http.get("/api/network.csv", params={"year": 2013})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert [r for r in rows if r["unit_code"] == LONGSHAN][0]["training_person_times"] == "30"
    assert rows[-1]["unit_code"] == "document" and rows[-1]["managers"] == "177"


async def test_a_year_out_of_range_is_refused_naming_it(network):
    answer = await network.http.get("/api/network", params={"year": 1900})
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (422, "query.year")


def visit_on(staff_ref: str, day: int, month: int) -> dict:
    return visit(staff_ref) | {"occurred_at": datetime(2013, month, day, 9, 30, tzinfo=CST).isoformat()}


async def test_staff_who_leave_are_counted_until_they_leave_and_refused_after(network):
    assert (await network.http.post("/api/staff", json=staff("staff-0001", YONGFU))).status_code == 201
    assert (await network.http.post("/api/staff", json=staff("staff-0002", YONGFU, "assistant"))).status_code == 201
    leaving = {"staff_ref": "staff-0001", "removed_on": "2013-07-01", "reason": "调往区卫生局"}

    removed = await network.http.post("/api/staff/removals", json=leaving)
    again = await network.http.post("/api/staff/removals", json=leaving)

    assert (removed.status_code, again.status_code) == (201, 200), removed.text
    assert removed.json()["removed_on"] == "2013-07-01" and removed.json()["stream_version"] == 2
    assert again.json()["replayed"]
    [event] = await network.stored_events("StaffRemoved")
    assert (event.stream_id, event.unit_code, event.payload["role"]) == ("staff-staff-0001", YONGFU, "manager")
    # A service from before the leaving day, recorded late, is theirs; one on or after it is not.
    assert (await network.http.post("/api/services", json=visit_on("staff-0001", 30, 6))).status_code == 201
    refused = await network.http.post("/api/services", json=visit_on("staff-0001", 1, 7))
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "staff_ref"
    assert "left the roster on 2013-07-01" in refused.json()["errors"][0]["reason"]
    listed = (await network.http.get("/api/staff", params={"unit_code": YONGFU})).json()
    assert [s["staff_ref"] for s in listed] == ["staff-0002"]

    async def yongfu(**params) -> dict:
        answer = await network.http.get("/api/network", params={"year": 2013, **params})
        assert answer.status_code == 200, answer.text
        return {u["unit_code"]: u for u in answer.json()["units"]}[YONGFU] | {"as_of": answer.json()["as_of"]}

    assert (await yongfu())["managers"] == 0 and (await yongfu())["as_of"] == "2013-12-31"
    assert (await yongfu(as_of="2013-06-30"))["managers"] == 1
    assert (await yongfu(as_of="2013-07-01"))["managers"] == 0

    back = await network.http.post("/api/staff", json=staff("staff-0001", KANGLE, assigned_on="2013-09-01"))
    assert back.status_code == 201, back.text
    answer = (await network.http.get("/api/network", params={"year": 2013})).json()
    by_unit = {u["unit_code"]: u for u in answer["units"]}
    assert (by_unit[YONGFU]["managers"], by_unit[KANGLE]["managers"]) == (0, 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"staff_ref": "staff-9999"}, "staff_ref"), ({"removed_on": "2012-12-01"}, "removed_on"),
     ({"removed_on": "2099-01-01"}, "removed_on"), ({"removed_on": "2013-02-30"}, "removed_on"),
     ({"reason": ""}, "reason")],
)
async def test_a_bad_removal_is_refused_naming_the_field(network, body, field):
    assert (await network.http.post("/api/staff", json=staff("staff-0001", YONGFU))).status_code == 201
    leaving = {"staff_ref": "staff-0001", "removed_on": "2013-07-01", "reason": "退休"} | body
    answer = await network.http.post("/api/staff/removals", json=leaving)
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (422, field), answer.text
    assert await network.stored_events("StaffRemoved") == []


async def test_a_second_leaving_or_a_return_before_the_first_is_refused(network):
    assert (await network.http.post("/api/staff", json=staff("staff-0001", YONGFU))).status_code == 201
    leaving = {"staff_ref": "staff-0001", "removed_on": "2013-07-01", "reason": "退休"}
    assert (await network.http.post("/api/staff/removals", json=leaving)).status_code == 201
    twice = await network.http.post("/api/staff/removals", json=leaving | {"removed_on": "2013-08-01"})
    early = await network.http.post("/api/staff", json=staff("staff-0001", KANGLE, assigned_on="2013-06-01"))
    assert (twice.status_code, twice.json()["errors"][0]["field"]) == (422, "removed_on")
    assert (early.status_code, early.json()["errors"][0]["field"]) == (422, "assigned_on")


@pytest.mark.parametrize("as_of", ["2014-01-01", "2013-13-01", "yesterday"])
async def test_a_staff_day_outside_the_year_or_no_day_is_refused_naming_as_of(network, as_of):
    answer = await network.http.get("/api/network", params={"year": 2013, "as_of": as_of})
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (422, "query.as_of"), answer.text
