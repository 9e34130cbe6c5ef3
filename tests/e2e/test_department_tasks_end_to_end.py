"""Tasks back to departments with the four services running: the sweep puts each task on the
department's own topic (read here with a plain consumer, as the department would), the
department's reply on its ingest topic closes it there, and the assessment's figures move.
Every check polls; none measures time."""

from __future__ import annotations

import uuid
from datetime import date

from district_api import Api, department_message, eventually, id_number, married_migrant_woman, publish, read_topic

from platform_kit.contract.common import EncryptedPersonalData
from platform_kit.sealing import department_key, open_sealed
from registry.settings import RegistrySettings

CHANGAN = "370402002001"  # 长安社区, 垎塔埠街道
SWEEP_DAY = "2013-06-10"  # the replay's today: the second quarter, the 2012 school year
# The services run with the development task secret; a department is handed the key it derives.
SECRET = RegistrySettings.model_fields["task_secret"].default.get_secret_value().encode()


async def tasks_on(district, stack, department: str, event_type: str, resident_id: str) -> list[dict]:
    topic = f"{district.namespace}tasks.{department}"

    async def probe() -> list[dict]:
        return [v for _, v in await read_topic(stack.bootstrap_servers, topic)
                if v["event_type"] == event_type and v["payload"]["resident_id"] == resident_id]

    return await eventually(probe, bool, f"{event_type} for {resident_id} on {topic}")


async def test_departments_get_their_tasks_and_their_replies_move_the_figures(district, stack):
    api = Api(district)
    try:
        woman = married_migrant_woman(CHANGAN, 71)
        child = married_migrant_woman(
            CHANGAN, 72, name="李小明", sex="male", birth_date="2006-05-01", marital_status="unmarried",
            id_number=id_number(date(2006, 5, 1), "male", 72), phone=None,
        )
        mother_id = (await api.post("registry", "/api/residents", woman, 201))["resident_id"]
        child_id = (await api.post("registry", "/api/residents", child, 201))["resident_id"]
        before = await eventually(
            lambda: api.figures(CHANGAN, "2013"),
            lambda f: f["free_pregnancy_checks"][1] >= 1 and f["compulsory_education_enrolment"][1] >= 1,
            "the woman and the child counted in 长安社区",
        )

        swept = await api.post("registry", "/api/department-tasks/sweep", {"on": SWEEP_DAY}, 200)
        assert swept["by_department"].get("health", 0) >= 1 and swept["by_department"].get("education", 0) >= 1

        (health_task,) = await tasks_on(district, stack, "health", "DepartmentTaskIssued", mother_id)
        (school_task,) = await tasks_on(district, stack, "education", "DepartmentTaskIssued", child_id)
        key_id, key = department_key(SECRET, "health")
        assert open_sealed(key, health_task["payload"]["task_id"], EncryptedPersonalData.model_validate(health_task["payload"]["personal"])) == {
            "name": "王秀英", "id_number": woman["id_number"], "phone": woman["phone"]}
        _, key = department_key(SECRET, "education")
        assert open_sealed(key, school_task["payload"]["task_id"], EncryptedPersonalData.model_validate(school_task["payload"]["personal"])) == {
            "name": "李小明", "id_number": child["id_number"]}
        assert (school_task["payload"]["period"], health_task["payload"]["period"]) == ("2012", "2013Q2")

        # The replies, each on the department's ingest topic through the gate.
        await publish(stack.bootstrap_servers, f"{district.namespace}ingest.health", department_message(
            "health", "ServiceDelivered", CHANGAN, f"{SWEEP_DAY}T09:30:00+08:00", {
                "service_id": str(uuid.uuid4()), "service_kind": "pregnancy_check", "resident_id": mother_id,
                "delivered_by_unit": CHANGAN, "staff_ref": "hospital-zz-0031", "free_of_charge": True}))
        await publish(stack.bootstrap_servers, f"{district.namespace}ingest.education", department_message(
            "education", "ChildEnrolled", CHANGAN, f"{SWEEP_DAY}T09:30:00+08:00", {
                "child_resident_id": child_id, "school_name": "长安小学", "school_year": 2012, "grade": 1}))

        (checked,) = await tasks_on(district, stack, "health", "DepartmentTaskClosed", mother_id)
        (enrolled,) = await tasks_on(district, stack, "education", "DepartmentTaskClosed", child_id)
        assert (checked["payload"]["outcome"], enrolled["payload"]["outcome"]) == ("checked", "enrolled")
        after = await eventually(
            lambda: api.figures(CHANGAN, "2013"),
            lambda f: f["free_pregnancy_checks"][0] == before["free_pregnancy_checks"][0] + 1
            and f["compulsory_education_enrolment"][0] == before["compulsory_education_enrolment"][0] + 1,
            "the check and the enrolment counted in 长安社区",
        )
        assert after["free_pregnancy_checks"][1] == before["free_pregnancy_checks"][1]
        still_open = await api.get("registry", "/api/department-tasks", status="open")
        assert not {mother_id, child_id} & {t["resident_id"] for t in still_open}
    finally:
        await api.close()
