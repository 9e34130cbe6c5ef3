"""Tasks back to departments, on the real broker and database: the sweep issues each
department its tasks on tasks.<department> (read here with a plain Kafka consumer, as a
department would), sealed so that only that department opens who they are for; the
department's reply on its ingest topic closes the task."""

from __future__ import annotations

import uuid

import pytest
from registry_builders import LONGSHAN_1, NOW, department_envelope, registration, send

from platform_kit.contract.common import EncryptedPersonalData
from platform_kit.envelope import Envelope
from platform_kit.sealing import department_key, open_sealed
from platform_kit.testing import delete_topics_of, read_topic_to_end, wait_until

SECRET = "test-task-secret"


@pytest.fixture
def forget_topics(stack):
    """This run's topics go when it ends, after the registry has stopped."""
    namespace = f"t{uuid.uuid4().hex[:8]}."
    yield namespace
    delete_topics_of(stack.bootstrap_servers, namespace)


@pytest.fixture
def registry_settings_overrides(forget_topics):
    return {"task_secret": SECRET, "topic_namespace": forget_topics}


async def register(api, **overrides) -> tuple[str, dict]:
    body = registration(**overrides)
    answer = await api.post("/api/residents", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["resident_id"], body


async def on_topic(service, department: str, event_type: str, count: int) -> list[Envelope]:
    topic = service.runtime.topics.tasks(department)
    found: list[Envelope] = []

    async def arrived() -> bool:
        try:
            records = await read_topic_to_end(service.settings.kafka_bootstrap_servers, topic)
        except AssertionError:  # the topic is made with the first task sent to it
            return False
        found[:] = [Envelope.from_bytes(r.value) for r in records]
        return len([e for e in found if e.event_type == event_type]) >= count

    await wait_until(arrived, timeout=30, what=f"{count} {event_type} on {topic}")
    return found


def opened(department: str, event: Envelope) -> dict:
    key_id, key = department_key(SECRET.encode(), department)
    sealed = EncryptedPersonalData.model_validate(event.payload["personal"])
    assert sealed.key_id == key_id
    return open_sealed(key, event.payload["task_id"], sealed)


async def test_each_department_gets_its_tasks_sealed_and_its_reply_closes_them(api, registry_service, producer):
    pupil, pupil_body = await register(api, name="李小明", sex="male", birth_date="2006-05-01", marital_status="unmarried", phone=None)
    enrolled_pupil, _ = await register(api, name="赵小红", sex="female", birth_date="2007-02-01", marital_status="unmarried", phone=None)
    too_young, _ = await register(api, name="钱小宝", sex="male", birth_date="2008-10-01", marital_status="unmarried", phone=None)
    local_pupil, _ = await register(api, name="孙小强", sex="male", birth_date="2006-06-01", marital_status="unmarried", phone=None, population="registered", household_registration_place="370402")
    mother, mother_body = await register(api, name="王秀英")
    holder, holder_body = await register(api, name="周建国", sex="male", birth_date="1980-01-01", phone="13906320000")
    assert (await api.post(f"/api/residents/{enrolled_pupil}/enrolments", json={"school_name": "龙山路小学", "school_year": 2013, "grade": 1})).status_code == 201
    permit = {"permit_ref": "370402-2012-0042", "issued_on": "2012-12-20", "valid_until": "2013-12-20"}
    assert (await api.post(f"/api/residents/{holder}/residence-permits", json=permit)).status_code == 201

    swept = await api.post("/api/department-tasks/sweep", json={"on": NOW.date().isoformat()})

    assert swept.status_code == 200, swept.text
    assert swept.json()["by_department"] == {"education": 1, "health": 1, "public-security": 1}
    again = await api.post("/api/department-tasks/sweep", json={"on": NOW.date().isoformat()})
    assert again.json()["issued"] == 0

    education = await on_topic(registry_service, "education", "DepartmentTaskIssued", 1)
    health = await on_topic(registry_service, "health", "DepartmentTaskIssued", 1)
    police = await on_topic(registry_service, "public-security", "DepartmentTaskIssued", 1)
    (task,) = education
    assert (task.payload["kind"], task.payload["resident_id"], task.payload["period"]) == ("enrol_child", pupil, "2013")
    assert opened("education", task) == {"name": "李小明", "id_number": pupil_body["id_number"]}
    assert opened("health", health[0]) == {
        "name": "王秀英", "id_number": mother_body["id_number"], "phone": mother_body["phone"]
    }
    assert health[0].payload["period"] == "2013Q4" and health[0].payload["due_on"] == "2013-12-31"
    assert opened("public-security", police[0]) == {"name": "周建国", "id_number": holder_body["id_number"]}
    with pytest.raises(ValueError):  # another department's key opens nothing
        key_id, key = department_key(SECRET.encode(), "health")
        open_sealed(key, task.payload["task_id"], EncryptedPersonalData.model_validate(task.payload["personal"]))
    for message in education + health + police:
        raw = message.model_dump_json()
        assert all(secret not in raw for secret in ("李小明", "王秀英", "周建国", pupil_body["id_number"], mother_body["phone"]))

    # The replies: education enrols the child, the hospital checks the woman (the services log
    # publishes it on services.events), public security renews the permit.
    await send(producer, registry_service, "education", department_envelope("education", "ChildEnrolled", {
        "child_resident_id": pupil, "school_name": "龙山路小学", "school_year": 2013, "grade": 2}))
    check = Envelope.new(
        event_type="ServiceDelivered", stream_id=f"service-{uuid.uuid4()}", stream_version=1, unit_code=LONGSHAN_1,
        source="dept:health", occurred_at=NOW, recorded_at=NOW, payload={
            "service_id": str(uuid.uuid4()), "service_kind": "pregnancy_check", "resident_id": mother,
            "delivered_by_unit": LONGSHAN_1, "staff_ref": "hospital-zz-0031", "free_of_charge": True,
            "residence": "lives_here", "resident_unit": LONGSHAN_1})
    await producer.send_and_wait(registry_service.runtime.topics.services_events, check.to_bytes(), key=check.key)
    await send(producer, registry_service, "public-security", department_envelope("public-security", "ResidencePermitIssued", {
        "resident_id": holder, "permit_ref": "370402-2013-7781", "issued_on": "2013-12-01", "valid_until": "2014-12-20"}))

    closed = {
        d: [e for e in await on_topic(registry_service, d, "DepartmentTaskClosed", 1) if e.event_type == "DepartmentTaskClosed"]
        for d in ("education", "health", "public-security")
    }
    assert {d: [e.payload["outcome"] for e in events] for d, events in closed.items()} == {
        "education": ["enrolled"], "health": ["checked"], "public-security": ["renewed"],
    }
    assert closed["health"][0].causation_id == check.event_id
    listed = (await api.get("/api/department-tasks", params={"status": "open"})).json()
    assert listed == []
    everything = (await api.get("/api/department-tasks")).json()
    assert sorted(t["outcome"] for t in everything) == ["checked", "enrolled", "renewed"]
    assert {too_young, local_pupil, enrolled_pupil}.isdisjoint({t["resident_id"] for t in everything})
    assert "王秀英" not in str(everything)


async def test_a_resident_who_leaves_has_their_tasks_closed_as_departed(api, registry_service):
    mother, _ = await register(api)
    await api.post("/api/department-tasks/sweep", json={"on": NOW.date().isoformat()})
    left = await api.post(f"/api/residents/{mother}/departure", json={"reason": "回户籍地", "destination_place": "370481"})
    assert left.status_code == 200, left.text

    closed = await on_topic(registry_service, "health", "DepartmentTaskClosed", 1)
    assert [e.payload["outcome"] for e in closed if e.event_type == "DepartmentTaskClosed"] == ["departed"]


async def test_only_the_district_runs_the_sweep(api, registry_service):
    from platform_kit.testing import bearer

    answer = await api.post("/api/department-tasks/sweep", json={}, headers=bearer("town", "370402005000"))
    assert answer.status_code == 403, answer.text
