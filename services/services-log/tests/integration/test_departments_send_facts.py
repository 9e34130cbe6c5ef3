"""Departments publish their facts on ingest.health and ingest.hr; the services log records
what it owns, once, and rejects what it cannot accept, with the reason, on ingest.rejected."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from platform_kit.gate import fact_event_id
from services_log_facts import department_message, hospital_check, hr_training

CST = timezone(timedelta(hours=8))
YONGFU, LONGSHAN = "370402005001", "370402005000"
JUNE = datetime(2013, 6, 3, 9, 30, tzinfo=CST)


def altered(message, **changes) -> bytes:
    document = json.loads(message.to_bytes())
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = document
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return json.dumps(document).encode()


async def test_a_training_from_hr_is_recorded_once_however_often_hr_sends_it(services_log):
    training = hr_training(LONGSHAN, JUNE, person_times=38)

    await services_log.department_sends("hr", training, training, training)

    [event] = await services_log.stored_events()
    assert (event.event_type, event.source, event.unit_code) == ("TrainingHeld", "dept:hr", LONGSHAN)
    assert event.event_id == fact_event_id("hr", training.event_id, 0)
    assert event.causation_id == training.event_id and event.occurred_at == JUNE
    assert event.stream_id == f"training-{training.payload['training_id']}"
    assert (event.payload["person_times"], event.payload["audience"]) == (38, "migrants")
    assert await services_log.rejections() == []


async def test_a_hospitals_checks_are_recorded_for_known_residents_and_for_those_not_yet_known(services_log):
    known, newcomer = uuid.uuid4(), uuid.uuid4()
    await services_log.registry_publishes(
        services_log.registry.registered(known, YONGFU, datetime(2013, 3, 1, tzinfo=CST))
    )

    await services_log.department_sends(
        "health",
        hospital_check(known, YONGFU, JUNE),
        hospital_check(newcomer, YONGFU, JUNE, kind="pre_pregnancy_health_check"),
    )

    residence = {e.payload["resident_id"]: e.payload["residence"] for e in await services_log.stored_events()}
    assert residence == {str(known): "lives_here", str(newcomer): "not_yet_known"}
    assert all(e.source == "dept:health" for e in await services_log.stored_events())


async def test_what_belongs_to_the_registry_on_health_is_left_alone(services_log):
    birth = department_message("health", "BirthReported", {"child": "..."}, unit_code=YONGFU, occurred_at=JUNE)

    await services_log.department_sends("health", birth, b"not even json", b'{"event_type": 7}')

    assert await services_log.stored_events() == []
    assert await services_log.rejections() == []  # the registry, health's gatekeeper, answers for these


async def test_each_class_of_bad_department_message_is_rejected_with_its_reason_and_nothing_written(services_log):
    departed = uuid.uuid4()
    registry = services_log.registry
    await services_log.registry_publishes(
        registry.registered(departed, YONGFU, datetime(2013, 3, 1, tzinfo=CST)),
        registry.departed(departed, YONGFU, datetime(2013, 5, 1, tzinfo=CST)),
    )
    training = hr_training(LONGSHAN, JUNE)
    check = hospital_check(uuid.uuid4(), YONGFU, JUNE)
    same_service_other_message = hospital_check(uuid.uuid4(), YONGFU, JUNE, service_id=check.payload["service_id"])
    bad_hr = {
        b"\xff not json": "message",
        b'{"event_type": "TrainingHeld"': "message",
        b'["an", "array"]': "message",
        altered(check, source="dept:hr"): "event_type",  # hr sends no ServiceDelivered
        altered(training, unit_code="3704"): "unit_code",
        altered(training, occurred_at="2013-06-03 09:30"): "occurred_at",
        altered(training, source="dept:health"): "source",
        altered(training, payload__person_times=0): "payload.person_times",
        altered(training, payload__trainer_phone="13812345678"): "payload.trainer_phone",
        altered(training, unit_code="370402999999"): "unit_code",
        altered(training, occurred_at="2099-06-03T09:30:00+08:00"): "occurred_at",
        altered(training, payload__trainee_refs=["王芳"]): "payload.trainee_refs.0",
    }
    bad_health = {
        hospital_check(
            uuid.uuid4(), YONGFU, JUNE, kind="six_ones", six_ones_item="film"
        ).to_bytes(): "payload.service_kind",
        # Each a fact of its own (a new event id): the kit's gate takes a recorded event id again
        # as a duplicate, whatever it carries.
        altered(check, event_id=str(uuid.uuid4()), payload__residence="lives_here"): "payload.residence",
        altered(check, event_id=str(uuid.uuid4()), unit_code=LONGSHAN): "unit_code",
        hospital_check(departed, YONGFU, JUNE).to_bytes(): "payload.resident_id",
        same_service_other_message.to_bytes(): "payload.service_id",
    }

    await services_log.department_sends("health", check)  # first, so that its service_id is taken
    await services_log.department_sends("hr", *bad_hr)
    await services_log.department_sends("health", *bad_health)

    rejections = await services_log.rejections()
    answered = sorted((r["topic"].rsplit(".", 1)[-1], r["field"]) for r in rejections)
    assert answered == sorted([("hr", f) for f in bad_hr.values()] + [("health", f) for f in bad_health.values()])
    assert all(r["rejected_by"] == "services-log" and r["reason"] == r["errors"][0]["reason"] for r in rejections)
    [recorded] = await services_log.stored_events()
    assert recorded.causation_id == check.event_id  # only the good check, once
    phone = next(r for r in rejections if r["field"] == "payload.trainer_phone")
    assert "13812345678" not in phone["original"] and phone["event_id"] == str(training.event_id)
    assert phone["topic"] == services_log.topics.ingest("hr")


async def test_a_batch_of_checks_for_known_residents_is_appended_together_each_once(services_log, monkeypatch):
    """Checks for residents the registry told us of are appended in the store's group commit
    (several in one call, one transaction), not one transaction each; a refused message among
    them and a resend change nothing of the others: each is recorded once."""
    residents = [uuid.uuid4() for _ in range(40)]
    await services_log.registry_publishes(
        *(services_log.registry.registered(r, YONGFU, datetime(2013, 3, 1, tzinfo=CST)) for r in residents)
    )
    store = services_log.service.runtime.store
    appended_together, append_group = [], store._append_group

    async def counted(conn, group):
        appended_together.append(len(group))
        return await append_group(conn, group)

    monkeypatch.setattr(store, "_append_group", counted)
    checks = [hospital_check(r, YONGFU, JUNE) for r in residents]
    refused = altered(checks[0], event_id=str(uuid.uuid4()), unit_code=LONGSHAN)

    await services_log.department_sends("health", *checks[:20], refused, checks[3], *checks[20:])

    stored = await services_log.stored_events("ServiceDelivered")
    assert sorted(e.payload["service_id"] for e in stored) == sorted(str(c.payload["service_id"]) for c in checks)
    assert {e.event_id for e in stored} == {fact_event_id("health", c.event_id, 0) for c in checks}
    assert [r["field"] for r in await services_log.rejections()] == ["unit_code"]
    assert max(appended_together) > 1, appended_together
