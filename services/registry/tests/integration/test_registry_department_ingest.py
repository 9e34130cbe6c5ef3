"""Departments' facts on ingest.<department>, on the real broker: each accepted path, what is
rejected to ingest.rejected (with the field and the reason, writing nothing), what is left to
other services, and a message sent twice giving one event."""

from __future__ import annotations

import uuid
from datetime import date

from registry_builders import (
    LONGSHAN_1,
    LONGSHAN_2,
    NOW,
    ZHONGXIN_1,
    department_envelope,
    events_caused_by,
    published,
    registration,
    rejections,
    send,
    stored_events,
)

from platform_kit.calendar import start_of
from platform_kit.testing import wait_until



async def register(api, **overrides) -> str:
    answer = await api.post("/api/residents", json=registration(**overrides))
    assert answer.status_code == 201, answer.text
    return answer.json()["resident_id"]


async def until_caused(service, *dept_event_ids, count: int | None = None) -> list:
    found: list = []

    async def arrived() -> bool:
        found[:] = await events_caused_by(service, *dept_event_ids)
        return len({e.causation_id for e in found}) == len(dept_event_ids) and (count is None or len(found) >= count)

    await wait_until(arrived, timeout=30, what="the department's facts were appended")
    return found


async def until_rejected(service, count: int) -> list[dict]:
    found: list[dict] = []

    async def arrived() -> bool:
        found[:] = await rejections(service)
        return len(found) >= count

    await wait_until(arrived, timeout=30, what=f"{count} rejections")
    return found


async def test_each_department_fact_becomes_the_registrys_event(api, registry_service, producer):
    mother = await register(api)
    mover = await register(api, sex="male", birth_date="1984-07-07")
    leaver = await register(api, sex="male", birth_date="1979-02-02", marital_status="unmarried")
    pupil = await register(api, sex="male", birth_date="2006-09-09", marital_status="unmarried", id_number=None)
    newborn = uuid.uuid4()
    facts = [
        ("health", department_envelope("health", "BirthReported", {
            "mother_resident_id": mother, "child_resident_id": str(newborn), "birth_date": "2013-11-28", "sex": "female",
            "reported_by": "hospital", "report_ref": "ZZSLH-2013-11-0457"})),
        ("public-security", department_envelope("public-security", "ResidencePermitIssued", {
            "resident_id": mother, "permit_ref": "370402-2013-7781", "issued_on": "2013-11-30", "valid_until": "2014-11-30"})),
        ("public-security", department_envelope("public-security", "ResidentMoved", {
            "resident_id": mover, "from_unit": LONGSHAN_1, "to_unit": ZHONGXIN_1})),
        ("public-security", department_envelope("public-security", "ResidentDeparted", {
            "resident_id": leaver, "from_unit": LONGSHAN_1, "destination_place": "320100", "reason": "务工"})),
        ("education", department_envelope("education", "ChildEnrolled", {
            "child_resident_id": pupil, "school_name": "龙山路小学", "school_year": 2013, "grade": 2})),
        ("civil-affairs", department_envelope("civil-affairs", "MaritalStatusChanged", {
            "resident_id": mover, "previous": "married", "marital_status": "divorced"})),
    ]
    for department, message in facts:
        await send(producer, registry_service, department, message)

    appended = await until_caused(registry_service, *(m["event_id"] for _, m in facts))
    for department, message in facts:
        (event,) = [e for e in appended if str(e.causation_id) == message["event_id"] and e.event_type == message["event_type"]]
        assert event.source == f"dept:{department}"
        business_time = start_of(date(2013, 11, 28)) if event.event_type == "BirthReported" else NOW
        assert event.occurred_at == business_time  # a birth happened when the child was born
    assert {e.event_type for e in appended} >= {
        "BirthReported", "ResidentRegistered", "ResidencePermitIssued", "ResidentMoved", "ResidentDeparted",
        "CrossRegionNoticeRaised", "VerificationRequested", "ChildEnrolled", "MaritalStatusChanged",
    }
    child = (await api.get(f"/api/residents/{newborn}")).json()  # the hospital's id for the newborn is kept
    assert child["mother_resident_id"] == mother and child["unit_code"] == LONGSHAN_1
    assert (await api.get(f"/api/residents/{mover}")).json()["unit_code"] == ZHONGXIN_1
    assert {e.event_id for e in appended} <= {e.event_id for e in await published(registry_service)}
    assert await rejections(registry_service) == []


async def test_a_message_sent_twice_gives_one_event(api, registry_service, producer):
    resident = await register(api)
    moved = department_envelope("public-security", "ResidentMoved", {"resident_id": resident, "from_unit": LONGSHAN_1, "to_unit": LONGSHAN_2})
    again = department_envelope("public-security", "ResidentMoved", {"resident_id": resident, "from_unit": LONGSHAN_2, "to_unit": ZHONGXIN_1})
    for message in (moved, moved, again, moved):  # resent, and resent after the resident moved on
        await send(producer, registry_service, "public-security", message)

    await until_caused(registry_service, moved["event_id"], again["event_id"])
    await send(producer, registry_service, "public-security", moved)  # and once more, late
    sentinel = department_envelope("public-security", "ResidencePermitIssued", {
        "resident_id": resident, "permit_ref": "P-1", "issued_on": "2013-11-01", "valid_until": "2014-11-01"})
    await send(producer, registry_service, "public-security", sentinel)
    await until_caused(registry_service, sentinel["event_id"])

    moves = [e for e in await stored_events(registry_service) if e.event_type == "ResidentMoved"]
    assert [(m.payload["from_unit"], m.payload["to_unit"]) for m in moves] == [(LONGSHAN_1, LONGSHAN_2), (LONGSHAN_2, ZHONGXIN_1)]
    assert await rejections(registry_service) == []


async def test_what_cannot_be_accepted_is_rejected_with_its_reason_and_writes_nothing(api, registry_service, producer):
    mother = await register(api)
    departed = await register(api, sex="male", birth_date="1980-01-01")
    await api.post(f"/api/residents/{departed}/departure", json={"reason": "返乡"})
    before = len(await stored_events(registry_service))

    def birth(**payload):
        body = {"mother_resident_id": mother, "child_resident_id": str(uuid.uuid4()), "birth_date": "2013-11-01",
                "sex": "male", "reported_by": "hospital", "report_ref": f"H-{uuid.uuid4().hex[:6]}"}
        return department_envelope("health", "BirthReported", {**body, **payload})

    bad = [  # (department, message, field, reason)
        ("health", b"{not json", "message", "is not valid JSON"),
        ("health", {k: v for k, v in birth().items() if k != "event_id"}, "event_id", "Field required"),
        ("health", {**birth(), "source": "dept:education"}, "source", "dept:health only"),
        ("health", department_envelope("health", "SurveyRecorded", {}), "event_type", "not accepted from health"),
        ("health", birth(sex="unknown"), "payload.sex", "Input should be"),
        ("health", birth(birth_date="1980-01-01"), "payload.birth_date", "before the mother's own birth"),
        ("health", birth(birth_date="2013-12-24"), "payload.birth_date", "in the future"),
        ("health", birth(mother_resident_id=str(uuid.uuid4())), "payload.mother_resident_id", "no resident"),
        ("public-security", department_envelope("public-security", "ResidentMoved", {
            "resident_id": departed, "from_unit": LONGSHAN_1, "to_unit": LONGSHAN_2}), "payload.resident_id", "left the district"),
        ("public-security", department_envelope("public-security", "ResidentMoved", {
            "resident_id": mother, "from_unit": LONGSHAN_1, "to_unit": "370402999999"}), "payload.to_unit", "not a unit"),
        ("public-security", department_envelope("public-security", "ResidentMoved", {
            "resident_id": mother, "from_unit": LONGSHAN_1, "to_unit": LONGSHAN_2}, occurred_at="2014-06-01T09:00:00+08:00"),
         "occurred_at", "in the future"),
        ("civil-affairs", department_envelope("civil-affairs", "MaritalStatusChanged", {
            "resident_id": mother, "previous": "unmarried", "marital_status": "married"}), "payload.previous", "the registry has the resident as married"),
        ("public-security", department_envelope("public-security", "ResidentDeparted", {
            "resident_id": mother, "from_unit": LONGSHAN_1, "reason": "联系电话 13906321234"}), "payload.reason", "must not travel in clear"),
        ("education", department_envelope("education", "ChildEnrolled", {
            "child_resident_id": mother, "school_name": "龙山路小学", "school_year": 2013, "grade": 1}), "payload.school_year", "compulsory education"),
        ("public-security", department_envelope("public-security", "ResidencePermitIssued", {
            "resident_id": mother, "permit_ref": "居-2013/7", "issued_on": "2013-11-01", "valid_until": "2014-11-01"}),
         "payload.permit_ref", "should match pattern"),
    ]
    for department, message, _, _ in bad:
        await send(producer, registry_service, department, message)

    rejected = await until_rejected(registry_service, len(bad))
    assert len(rejected) == len(bad)
    for department, message, field, reason in bad:
        event_id = message.get("event_id") if isinstance(message, dict) else None
        (record,) = [
            r for r in rejected
            if r["field"] == field and reason in r["reason"] and r["topic"].endswith(f"ingest.{department}")
            and r["event_id"] == event_id
        ]
        assert record["rejected_by"] == "registry" and (event_id is None or event_id in record["original"])
        assert record["errors"][0] == {"field": field, "reason": record["reason"]}
        assert "13906321234" not in record["original"]  # a rejection does not spread a phone number further
    assert len(await stored_events(registry_service)) == before


async def test_facts_for_another_service_are_left_to_it(api, registry_service, producer):
    resident = await register(api)
    service_delivered = department_envelope("health", "ServiceDelivered", {"service_id": str(uuid.uuid4())})
    sentinel = department_envelope("health", "BirthReported", {
        "mother_resident_id": resident, "child_resident_id": str(uuid.uuid4()), "birth_date": "2013-11-01",
        "sex": "male", "reported_by": "hospital", "report_ref": "H-sentinel"})
    await send(producer, registry_service, "health", service_delivered)
    await send(producer, registry_service, "health", sentinel)  # same partition: read after the first
    await until_caused(registry_service, sentinel["event_id"])
    assert await events_caused_by(registry_service, service_delivered["event_id"]) == []
    assert await rejections(registry_service) == []
