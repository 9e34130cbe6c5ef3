"""Staff record what they delivered over HTTP, against the real broker and database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta, timezone

from platform_kit.testing import wait_until

CST = timezone(timedelta(hours=8))
YONGFU, KANGLE, JIANSHE, LONGSHAN = "370402005001", "370402005002", "370402001001", "370402005000"


def on(month: int, day: int) -> str:
    return datetime(2013, month, day, 9, 30, tzinfo=CST).isoformat()


def pregnancy_check(resident_id: uuid.UUID, **fields) -> dict:
    return {
        "service_kind": "pregnancy_check",
        "resident_id": str(resident_id),
        "delivered_by_unit": YONGFU,
        "staff_ref": "staff-0412",
        "occurred_at": on(6, 3),
    } | fields


async def test_a_service_to_a_registered_resident_is_recorded_and_published(services_log):
    mother = uuid.uuid4()
    await services_log.registry_publishes(
        services_log.registry.registered(mother, YONGFU, datetime(2013, 3, 1, tzinfo=CST))
    )

    answer = await services_log.http.post("/api/services", json=pregnancy_check(mother))

    assert answer.status_code == 201, answer.text
    recorded = answer.json()
    assert recorded["record_type"] == "ServiceDelivered" and recorded["stream_version"] == 1
    assert recorded["stream_id"] == f"service-{recorded['id']}"
    assert (recorded["residence"], recorded["resident_unit"], recorded["replayed"]) == ("lives_here", YONGFU, False)
    assert answer.headers["location"] == f"/api/services/{recorded['id']}"
    service = (await services_log.http.get(answer.headers["location"])).json()
    assert service["fields"]["service_kind"] == "pregnancy_check" and service["unit_code"] == YONGFU

    async def published() -> bool:
        return any(e.event_id == uuid.UUID(recorded["event_id"]) for e in await services_log.published())

    await wait_until(published, timeout=30, what="the service on services.events")
    ready = await services_log.http.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) == {
        "postgres", "kafka", "relay", "outbox", "audit-chain",
        "projection:registry_view", "projection-lag:registry_view", "ingest",
    }


async def test_surveys_trainings_and_association_activities_are_recorded(services_log):
    resident = uuid.uuid4()
    await services_log.registry_publishes(
        services_log.registry.registered(resident, KANGLE, datetime(2013, 3, 1, tzinfo=CST))
    )
    commands = {
        "/api/surveys": {
            "survey_kind": "reproductive_health_awareness",
            "resident_id": str(resident),
            "aware": True,
            "surveyed_by_unit": KANGLE,
            "staff_ref": "staff-0413",
            "occurred_at": on(6, 3),
        },
        "/api/trainings": {
            "held_by_unit": LONGSHAN,
            "topic": "流动人口服务管理员业务培训",
            "person_times": 46,
            "trainee_refs": ["staff-0412", "staff-0413"],
            "occurred_at": on(6, 4),
        },
        "/api/association-activities": {
            "association_ref": "association-03",
            "activity": "生殖健康知识讲座",
            "participants": 85,
            "occurred_at": on(6, 5),
        },
    }
    for path, command in commands.items():
        answer = await services_log.http.post(path, json=command)
        assert answer.status_code == 201, answer.text
        assert (await services_log.http.get(answer.headers["location"])).status_code == 200

    stored = {e.event_type: e for e in await services_log.stored_events()}
    assert set(stored) == {"SurveyRecorded", "TrainingHeld", "AssociationActivityHeld"}
    assert stored["SurveyRecorded"].payload["residence"] == "lives_here"
    assert stored["TrainingHeld"].payload["person_times"] == 46
    assert stored["AssociationActivityHeld"].unit_code == LONGSHAN  # association-03 is hosted by 龙山路街道
    assert all(e.source == "services-log" for e in stored.values())


async def test_a_retry_records_nothing_new_and_a_reused_id_conflicts(services_log):
    service_id = str(uuid.uuid4())
    household_visit = {
        "service_id": service_id,
        "service_kind": "follow_up_visit",
        "household_ref": "household-0042",
        "delivered_by_unit": YONGFU,
        "staff_ref": "staff-0412",
        "occurred_at": on(6, 3),
    }

    first = await services_log.http.post("/api/services", json=household_visit)
    retry = await services_log.http.post("/api/services", json=household_visit)
    other = await services_log.http.post("/api/services", json=household_visit | {"service_kind": "policy_publicity"})

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["replayed"] is True and retry.json()["event_id"] == first.json()["event_id"]
    assert other.status_code == 409
    assert other.json()["errors"][0]["field"] == "service_id"
    assert len(await services_log.stored_events()) == 1


async def test_two_staff_recording_one_service_id_at_once_one_wins_the_other_is_told(services_log):
    service_id = str(uuid.uuid4())
    visit = {
        "service_id": service_id,
        "service_kind": "follow_up_visit",
        "household_ref": "household-0042",
        "delivered_by_unit": YONGFU,
        "staff_ref": "staff-0412",
        "occurred_at": on(6, 3),
    }
    film = visit | {"service_kind": "six_ones", "six_ones_item": "film", "staff_ref": "staff-0413"}

    answers = await asyncio.gather(*(services_log.http.post("/api/services", json=c) for c in (visit, film) * 3))

    assert sorted(a.status_code for a in answers) == [200, 200, 201, 409, 409, 409]
    [winner] = [a for a in answers if a.status_code == 201]
    assert all(a.json()["event_id"] == winner.json()["event_id"] for a in answers if a.status_code == 200)
    assert len(await services_log.stored_events()) == 1


BAD = [
    ("/api/services", {"service_kind": "six_ones"}, 422, "six_ones_item", "required when service_kind is six_ones"),
    ("/api/services", {"six_ones_item": "film"}, 422, "six_ones_item", "only for service_kind six_ones"),
    ("/api/services", {"service_kind": "certificate_handling"}, 422, "certificate_mode", "required when"),
    ("/api/services", {"service_kind": "massage"}, 422, "service_kind", "Input should be"),
    ("/api/services", {"resident_id": None}, 422, "resident_id", "resident or a household"),
    ("/api/services", {"delivered_by_unit": "370402999999"}, 422, "delivered_by_unit", "not a unit of 市中区"),
    ("/api/services", {"delivered_by_unit": "3704"}, 422, "delivered_by_unit", "pattern"),
    ("/api/services", {"occurred_at": "2099-01-01T09:00:00+08:00"}, 422, "occurred_at", "in the future"),
    ("/api/services", {"occurred_at": "2013-06-03T09:30:00"}, 422, "occurred_at", "timezone"),
    ("/api/services", {"staff_ref": "李梅"}, 422, "staff_ref", "never a name"),
    ("/api/services", {"cross_unit_reason": "电话13812345678"}, 422, "cross_unit_reason", "personal data"),
    ("/api/services", {"nickname": "小李"}, 422, "nickname", "Extra inputs are not permitted"),
    ("/api/services", {"resident_id": "MAN"}, 422, "service_kind", "for women"),
    ("/api/services", {"resident_id": "DEPARTED"}, 409, "resident_id", "left the district on 2013-05-01"),
    (
        "/api/services",
        {"resident_id": "BABY", "service_kind": "health_check_up"},
        422,
        "occurred_at",
        "before the resident was born",
    ),
    ("/api/surveys", {"survey_kind": "policy_awareness", "aware": "perhaps"}, 422, "aware", "valid boolean"),
    ("/api/trainings", {"person_times": 1}, 422, "person_times", "fewer than the 2 trainees"),
    ("/api/association-activities", {"association_ref": "association-99"}, 422, "association_ref", "13 associations"),
]
GOOD = {
    "/api/services": pregnancy_check(uuid.uuid4()),
    "/api/surveys": {
        "survey_kind": "policy_awareness",
        "resident_id": str(uuid.uuid4()),
        "aware": True,
        "surveyed_by_unit": YONGFU,
        "occurred_at": on(6, 3),
    },
    "/api/trainings": {
        "held_by_unit": LONGSHAN,
        "topic": "业务培训",
        "person_times": 2,
        "trainee_refs": ["staff-1", "staff-2"],
        "occurred_at": on(6, 3),
    },
    "/api/association-activities": {
        "association_ref": "association-03",
        "activity": "讲座",
        "participants": 5,
        "occurred_at": on(6, 3),
    },
}


async def test_each_class_of_bad_input_is_refused_with_its_field_and_reason_and_nothing_is_written(services_log):
    man, departed, baby = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    registry = services_log.registry
    await services_log.registry_publishes(
        registry.registered(man, YONGFU, datetime(2013, 3, 1, tzinfo=CST), sex="male"),
        registry.registered(departed, YONGFU, datetime(2013, 3, 1, tzinfo=CST)),
        registry.departed(departed, YONGFU, datetime(2013, 5, 1, tzinfo=CST)),
        registry.registered(baby, YONGFU, datetime(2013, 9, 1, tzinfo=CST), birth_date=date(2013, 9, 1)),
    )
    named = {"MAN": str(man), "DEPARTED": str(departed), "BABY": str(baby)}

    for path, change, status, field, reason in BAD:
        command = GOOD[path] | {k: named.get(v, v) if isinstance(v, str) else v for k, v in change.items()}
        answer = await services_log.http.post(path, json=command)
        assert answer.status_code == status, (change, answer.text)
        problem = answer.json()
        assert problem["status"] == status
        assert any(e["field"] == field and reason in e["reason"] for e in problem["errors"]), (change, problem)

    broken = await services_log.http.post(
        "/api/services", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert (broken.status_code, broken.json()["errors"][0]["field"]) == (422, "body")
    assert await services_log.stored_events() == []


async def test_staff_can_see_what_the_registry_has_told_the_services_log(services_log):
    resident, never_heard_of = uuid.uuid4(), uuid.uuid4()
    registry = services_log.registry
    await services_log.registry_publishes(
        registry.registered(resident, YONGFU, datetime(2013, 3, 1, tzinfo=CST), marital_status="unmarried"),
        registry.marital_status_changed(resident, YONGFU, datetime(2013, 4, 1, tzinfo=CST), to="married"),
        registry.moved(resident, YONGFU, KANGLE, datetime(2013, 7, 1, tzinfo=CST)),
    )

    known = (await services_log.http.get(f"/api/residents/{resident}")).json()
    unknown = (await services_log.http.get(f"/api/residents/{never_heard_of}")).json()

    assert (known["known"], known["unit_code"], known["departed"], known["marital_status"]) == (
        True,
        KANGLE,
        False,
        "married",
    )
    assert datetime.fromisoformat(known["since"]) == datetime(2013, 7, 1, tzinfo=CST)
    assert unknown["known"] is False
    associations = (await services_log.http.get("/api/associations")).json()
    assert len(associations) == 13
