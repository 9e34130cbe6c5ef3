"""Names, ID numbers and phone numbers never reach the services log's Kafka messages or its log
lines, even when staff or a department try to put them there."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from platform_kit.testing import wait_until
from services_log_facts import hospital_check, hr_training

CST = timezone(timedelta(hours=8))
YONGFU = "370402005001"
ID_NUMBER, PHONE, NAME = "370402198805011237", "13812345678", "王秀英"


async def test_planted_personal_data_is_in_no_kafka_message_and_no_log_line(services_log, capfd):
    resident = uuid.uuid4()
    await services_log.registry_publishes(
        services_log.registry.registered(resident, YONGFU, datetime(2013, 3, 1, tzinfo=CST))
    )
    planted = {
        "cross_unit_reason": f"{NAME} 身份证 {ID_NUMBER}",
        "staff_ref": PHONE,
        "household_ref": ID_NUMBER,
    }
    for field, value in planted.items():
        command = {
            "service_kind": "follow_up_visit",
            "resident_id": str(resident),
            "delivered_by_unit": YONGFU,
            "staff_ref": "staff-0412",
            "occurred_at": "2013-06-03T09:30:00+08:00",
        } | {field: value}
        answer = await services_log.http.post("/api/services", json=command)
        assert answer.status_code == 422 and ID_NUMBER not in answer.text and PHONE not in answer.text

    good = hospital_check(resident, YONGFU, datetime(2013, 6, 3, 9, tzinfo=CST))
    leaky = json.loads(hr_training(YONGFU, datetime(2013, 6, 3, tzinfo=CST)).to_bytes())
    leaky["payload"] |= {"name": NAME, "id_number": ID_NUMBER, "note": f"联系电话 {PHONE}"}
    await services_log.department_sends("health", good)
    await services_log.department_sends("hr", json.dumps(leaky, ensure_ascii=False).encode())
    await services_log.http.post(
        "/api/services",
        json={
            "service_kind": "policy_publicity",
            "resident_id": str(resident),
            "delivered_by_unit": YONGFU,
            "staff_ref": "staff-0412",
            "occurred_at": "2013-06-04T09:30:00+08:00",
        },
    )

    async def both_published() -> bool:
        return len(await services_log.published()) == 2

    await wait_until(both_published, timeout=30, what="the check and the publicity on services.events")
    rejections = await services_log.rejections()
    assert [r["event_type"] for r in rejections] == ["TrainingHeld"]
    kafka = [json.dumps(r, ensure_ascii=False) for r in rejections]
    kafka += [e.model_dump_json() for e in await services_log.published()]
    logs = capfd.readouterr()
    assert "ingest.rejected" in logs.err and "record.appended" in logs.err  # the log lines were read
    for text in (*kafka, logs.out, logs.err):
        assert ID_NUMBER not in text and PHONE not in text and NAME not in text
