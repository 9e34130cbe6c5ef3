"""Personal data: never in clear on Kafka, in the logs or in the registry's tables; erasing a
person (crypto-shredding) makes them unreadable for good while every count stays."""

from __future__ import annotations

import json
import uuid
from datetime import date

from aiokafka.admin import AIOKafkaAdminClient
from registry_builders import (
    LONGSHAN_1,
    LONGSHAN_2,
    department_envelope,
    id_number,
    published,
    registration,
    send,
)

from platform_kit.testing import read_topic_to_end, read_topics_to_end, wait_until

PLANTED_NAME = "欧阳秀兰"
PLANTED_CHILD = "欧阳小明"
PLANTED_PHONE = "15966329876"
PLANTED_ID = id_number(date(1990, 7, 21), "female", sequence=846)


def traces(text: str) -> list[str]:
    """Which planted values ``text`` holds, in clear or JSON-escaped."""
    found = []
    for secret in (PLANTED_NAME, PLANTED_CHILD, PLANTED_PHONE, PLANTED_ID):
        escaped = json.dumps(secret)[1:-1]
        if secret in text or escaped in text:
            found.append(secret)
    return found


async def namespace_topics(service) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=service.settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        return sorted(t for t in await admin.list_topics() if t.startswith(service.settings.topic_namespace))
    finally:
        await admin.close()


async def test_planted_personal_data_is_in_no_kafka_message_no_log_line_and_no_table(api, registry_service, producer, capfd, caplog):
    body = registration(name=PLANTED_NAME, id_number=PLANTED_ID, phone=PLANTED_PHONE, birth_date="1990-07-21")
    woman = (await api.post("/api/residents", json=body)).json()["resident_id"]
    path = f"/api/residents/{woman}"
    assert (await api.post("/api/residents", json=body)).status_code == 409  # a duplicate, refused
    assert (await api.post("/api/residents", json={**body, "birth_date": "1990-07-22"})).status_code == 422
    assert (await api.post("/api/residents/lookup", json={"id_number": PLANTED_ID})).status_code == 200
    await api.post(f"{path}/births", json={
        "birth_date": "2013-11-11", "sex": "male", "reported_by": "family", "report_ref": "家-7", "child_name": PLANTED_CHILD})
    await api.post(f"{path}/moves", json={"to_unit": LONGSHAN_2})
    moved = department_envelope("public-security", "ResidentMoved", {"resident_id": woman, "from_unit": LONGSHAN_2, "to_unit": LONGSHAN_1})
    wrong = department_envelope("public-security", "ResidentMoved", {"resident_id": str(uuid.uuid4()), "from_unit": LONGSHAN_1, "to_unit": LONGSHAN_2})
    await send(producer, registry_service, "public-security", moved)
    await send(producer, registry_service, "public-security", wrong)

    async def both_handled() -> bool:
        view = (await api.get(path)).json()
        rejected = await read_topic_to_end(registry_service.settings.kafka_bootstrap_servers, registry_service.runtime.topics.ingest_rejected)
        return view["unit_code"] == LONGSHAN_1 and len(rejected) == 1

    await wait_until(both_handled, timeout=30, what="the department's messages handled")
    assert (await api.get(path)).json()["personal"]["name"] == PLANTED_NAME  # staff can read her
    await api.post(f"{path}/erasure", json={"reason": "本人申请"})
    await published(registry_service)  # everything committed is on Kafka

    topics = await namespace_topics(registry_service)
    assert registry_service.runtime.topics.registry_events in topics
    records = await read_topics_to_end(registry_service.settings.kafka_bootstrap_servers, topics)
    for record in records:
        text = (record.key or b"").decode("utf-8", "replace") + record.value.decode("utf-8", "replace")
        text += "".join(value.decode("utf-8", "replace") for _, value in record.headers or ())
        assert traces(text) == [], f"{record.topic}: {text[:300]}"
    assert len(records) >= 10 and {r.topic for r in records} >= {registry_service.runtime.topics.ingest_rejected}

    logs = capfd.readouterr()
    assert "resident.registered" in logs.err  # the logs were captured, and they say what happened
    assert traces(logs.out + logs.err + caplog.text) == []

    pool, schema = registry_service.runtime.pool, registry_service.runtime.schema
    for (table,) in await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema):
        rows = await pool.fetch(f"SELECT t::text AS row FROM {schema}.{table} t")
        assert traces("".join(r["row"] for r in rows)) == [], table


async def test_an_erased_person_is_unreadable_while_the_counts_stay(api, registry_service):
    body = registration(name=PLANTED_NAME, id_number=PLANTED_ID, phone=PLANTED_PHONE, birth_date="1990-07-21")
    woman = (await api.post("/api/residents", json=body)).json()["resident_id"]
    neighbour = (await api.post("/api/residents", json=registration(sex="male", birth_date="1980-02-02"))).json()["resident_id"]
    child = (await api.post(f"/api/residents/{woman}/births", json={
        "birth_date": "2013-11-11", "sex": "male", "reported_by": "family", "report_ref": "家-7", "child_name": PLANTED_CHILD,
    })).json()["child_resident_id"]
    counts = (await api.get("/api/units/370402005000/counts")).json()
    listed = (await api.get("/api/residents", params={"unit_code": LONGSHAN_1})).json()

    erased = await api.post(f"/api/residents/{woman}/erasure", json={"reason": "本人申请"})
    assert erased.status_code == 200, erased.text

    view = (await api.get(f"/api/residents/{woman}")).json()
    assert view["erased"] is True and view["personal"] is None
    assert view["sex"] == "female" and view["unit_code"] == LONGSHAN_1 and view["children"]  # the facts stay
    assert (await api.get("/api/units/370402005000/counts")).json() == {**counts, "erased": 1}
    after = (await api.get("/api/residents", params={"unit_code": LONGSHAN_1})).json()
    assert after["total"] == listed["total"]
    names = {item["resident_id"]: item["name"] for item in after["items"]}
    assert names[woman] is None and names[neighbour] == "王秀英" and names[child] == PLANTED_CHILD
    assert (await api.post("/api/residents/lookup", json={"id_number": PLANTED_ID})).status_code == 404
    assert (await api.post(f"/api/residents/{woman}/erasure", json={"reason": "本人申请"})).status_code == 409

    registry = registry_service.registry
    stored = await registry.resident(uuid.UUID(woman))
    assert await registry.vault.keys([stored.resident_id]) == {}  # the key is gone: the sealed blob on Kafka is noise
    assert (await api.get(f"/api/residents/{child}")).json()["personal"]["name"] == PLANTED_CHILD
    events = await published(registry_service)
    assert [e.event_type for e in events if e.stream_id == f"resident-{woman}"][-1] == "PersonalDataErased"
