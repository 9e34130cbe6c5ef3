"""The four services running as in production, driven only through their HTTP APIs and topics.

A department's birth report goes registry → assessment → scoreboard, and the registration
before it → notifier; a move shifts a woman's figures and tells both units; a message the
registry cannot accept lands on ingest.rejected in the kit's one rejection shape. Every check
polls (the services are eventually consistent); none measures time.
"""

from __future__ import annotations

import json
import uuid

import pytest
from district_api import Api, about, department_message, eventually, married_migrant_woman, publish, read_topic

from platform_kit.contract.ingest import IngestRejection

CHANGAN, GETABU = "370402002001", "370402002000"  # 长安社区, 垎塔埠街道
LONGSHAN_1, LONGSHANLU = "370402005001", "370402005000"  # 龙山路街道's first community
JIANSHE, ZHONGXINJIE = "370402001001", "370402001000"  # 建设社区, 中心街街道
THIRD_TOWN_VILLAGE = "370402003001"


@pytest.fixture
async def api(district):
    api = Api(district)
    yield api
    await api.close()


def ingest_health(district) -> str:
    return district.namespace + "ingest.health"


def rejected_topic(district) -> str:
    return district.namespace + "ingest.rejected"


def birth(mother_id: str, unit_code: str, birth_date: str, report_ref: str, child_id: str | None = None) -> dict:
    return department_message(
        "health", "BirthReported", unit_code, f"{birth_date}T00:00:00+08:00",
        {
            "mother_resident_id": mother_id,
            "child_resident_id": child_id or str(uuid.uuid4()),
            "birth_date": birth_date,
            "sex": "male",
            "reported_by": "hospital",
            "report_ref": report_ref,
        },
    )


async def rejections_once_seen(district, stack, sentinel: dict) -> list[dict]:
    """Every rejection on the run's ingest.rejected, read once the sentinel's is there: the gate
    reads a partition in order, so everything published before the sentinel was decided."""
    def has_sentinel(records):
        return any(value.get("event_id") == sentinel["event_id"] for _, value in records)

    records = await eventually(
        lambda: read_topic(stack.bootstrap_servers, rejected_topic(district)), has_sentinel,
        "the sentinel's rejection on ingest.rejected",
    )
    return records


async def test_a_hospital_birth_report_reaches_the_registry_the_figures_and_the_scoreboard_once(district, stack, api):
    mother = (await api.post("registry", "/api/residents", married_migrant_woman(CHANGAN, 1), 201))["resident_id"]
    before = await eventually(
        lambda: api.figures(CHANGAN, "2013"), lambda f: f["services_where_they_live"] == (0, 1),
        "the mother counted in 长安社区 for 2013",
    )
    assert before["free_pregnancy_checks"] == (0, 1)

    report = birth(mother, CHANGAN, "2013-06-01", "HOSP-2013-0601-17")
    child = report["payload"]["child_resident_id"]
    await publish(stack.bootstrap_servers, ingest_health(district), report)

    # The registry: the department's child id is the newborn's, living with the mother.
    newborn = await eventually(
        lambda: api.http.get(api.url("registry", f"/api/residents/{child}")), lambda r: r.status_code == 200,
        "the newborn in the registry",
    )
    newborn = newborn.json()
    assert (newborn["mother_resident_id"], newborn["unit_code"], newborn["birth_date"]) == (mother, CHANGAN, "2013-06-01")
    mother_view = await api.get("registry", f"/api/residents/{mother}")
    assert [(c["child_resident_id"], c["reported_by"]) for c in mother_view["children"]] == [(child, ["hospital"])]

    # The assessment: a newborn is one more migrant to serve where the mother lives, from June on;
    # no married woman more, and the first quarter (before the birth) is untouched.
    year = await eventually(
        lambda: api.figures(CHANGAN, "2013"), lambda f: f["services_where_they_live"] == (0, 2),
        "the newborn counted in 长安社区 for 2013",
    )
    assert year["free_pregnancy_checks"] == (0, 1)
    assert year["compulsory_education_enrolment"] == (0, 0)
    assert (await api.figures(CHANGAN, "2013-Q2"))["services_where_they_live"] == (0, 2)
    assert (await api.figures(CHANGAN, "2013-Q1"))["services_where_they_live"] == (0, 1)
    assert (await api.figures(GETABU, "2013"))["services_where_they_live"] == (0, 2)

    villages = await api.get("assessment", "/api/scoreboard", period="2013", level="village", parent=GETABU)
    row = next(r for r in villages["rows"] if r["unit_code"] == CHANGAN)
    assert "not_assessed" not in row["flags"]
    assert row["indicators"]["services_where_they_live"]["denominator"] == 2
    towns = await api.get("assessment", "/api/scoreboard", period="2013", level="town")
    assert next(r for r in towns["rows"] if r["unit_code"] == GETABU)["indicators"]["services_where_they_live"]["denominator"] == 2

    # The notifier: the mother's arrival is told to her unit once; a newborn is no inflow.
    inbox = await eventually(lambda: api.inbox(CHANGAN), lambda i: about(i, "inflow", mother), "the inflow notice")
    assert len(about(inbox, "inflow", mother)) == 1
    assert about(inbox, "inflow", child) == []
    assert about(await api.inbox(GETABU), "inflow", mother) == []

    # The same message again, then a sentinel the registry must reject: once the sentinel's
    # rejection is out, the repeat has been read, and it changed nothing anywhere.
    sentinel = birth(str(uuid.uuid4()), CHANGAN, "2013-06-02", "HOSP-SENTINEL-1")
    await publish(stack.bootstrap_servers, ingest_health(district), report, sentinel)
    rejections = await rejections_once_seen(district, stack, sentinel)
    assert [v for _, v in rejections if v.get("event_id") == report["event_id"]] == []
    again = await api.get("registry", f"/api/residents/{mother}")
    assert (again["stream_version"], again["children"]) == (mother_view["stream_version"], mother_view["children"])
    assert (await api.get("registry", f"/api/units/{CHANGAN}/counts"))["living"] == 2
    assert (await api.figures(CHANGAN, "2013")) == year
    assert len(about(await api.inbox(CHANGAN), "inflow", mother)) == 1


async def test_a_move_between_towns_moves_her_figures_and_tells_both_units_once(district, api):
    woman = (await api.post("registry", "/api/residents", married_migrant_woman(LONGSHAN_1, 2), 201))["resident_id"]
    await eventually(
        lambda: api.figures(LONGSHAN_1, "2013"), lambda f: f["free_pregnancy_checks"] == (0, 1),
        "her in 龙山路街道's first community for 2013",
    )
    assert (await api.figures(JIANSHE, "2013"))["free_pregnancy_checks"] == (0, 0)

    await api.post(
        "registry", f"/api/residents/{woman}/moves",
        {"to_unit": JIANSHE, "from_unit": LONGSHAN_1, "occurred_at": "2013-05-15T09:00:00+08:00"}, 200,
    )
    assert (await api.get("registry", f"/api/residents/{woman}"))["unit_code"] == JIANSHE

    # Counted where she lived at the end of each window: 建设社区 for the year and Q2, her first
    # community still for Q1 (she moved in May); and the towns follow their villages.
    await eventually(
        lambda: api.figures(JIANSHE, "2013"), lambda f: f["free_pregnancy_checks"] == (0, 1),
        "her in 建设社区 for 2013",
    )
    for period in ("2013", "2013-Q2"):
        old, new = await api.figures(LONGSHAN_1, period), await api.figures(JIANSHE, period)
        for indicator in ("free_pregnancy_checks", "free_contraceptives", "services_where_they_live"):
            assert (old[indicator], new[indicator]) == ((0, 0), (0, 1)), (period, indicator)
    q1_old, q1_new = await api.figures(LONGSHAN_1, "2013-Q1"), await api.figures(JIANSHE, "2013-Q1")
    assert (q1_old["free_pregnancy_checks"], q1_new["free_pregnancy_checks"]) == ((0, 1), (0, 0))
    assert (await api.figures(LONGSHANLU, "2013"))["free_pregnancy_checks"] == (0, 0)
    assert (await api.figures(ZHONGXINJIE, "2013"))["free_pregnancy_checks"] == (0, 1)

    # 流入告知 to the unit she moved into, 流出告知 to the one she left, each once.
    new_inbox = await eventually(lambda: api.inbox(JIANSHE), lambda i: about(i, "inflow", woman), "the inflow notice")
    old_inbox = await eventually(lambda: api.inbox(LONGSHAN_1), lambda i: about(i, "outflow", woman), "the outflow notice")
    assert [i["title"] for i in about(new_inbox, "inflow", woman)] == ["流入告知"]
    assert [i["title"] for i in about(old_inbox, "outflow", woman)] == ["流出告知"]
    assert about(new_inbox, "outflow", woman) == []
    assert len(about(old_inbox, "inflow", woman)) == 1  # her registration there, in March


async def test_a_birth_report_the_registry_cannot_accept_lands_once_on_ingest_rejected(district, stack, api):
    mother = (await api.post("registry", "/api/residents", married_migrant_woman(THIRD_TOWN_VILLAGE, 3), 201))["resident_id"]
    impossible = birth(mother, THIRD_TOWN_VILLAGE, "1980-01-01", "HOSP-1980-0101-01")  # before she was born
    sentinel = birth(str(uuid.uuid4()), THIRD_TOWN_VILLAGE, "2013-06-02", "HOSP-SENTINEL-2")
    await publish(stack.bootstrap_servers, ingest_health(district), impossible, sentinel)

    records = await rejections_once_seen(district, stack, sentinel)
    ours = [(record, value) for record, value in records if value.get("event_id") == impossible["event_id"]]
    assert len(ours) == 1, ours
    record, value = ours[0]
    rejection = IngestRejection.model_validate(value)
    assert set(value) == set(IngestRejection.model_fields), "nothing beyond the kit's shape"
    assert (rejection.rejected_by, rejection.topic, rejection.event_type) == ("registry", ingest_health(district), "BirthReported")
    assert rejection.field == "payload.birth_date" == rejection.errors[0].field
    assert rejection.reason == rejection.errors[0].reason and "1980-01-01" in rejection.reason
    assert json.loads(rejection.original)["event_id"] == impossible["event_id"]
    assert record.key == b"e2e-department"
    assert dict(record.headers)["field"] == b"payload.birth_date"
    assert dict(record.headers)["rejected_by"] == b"registry"
    assert (await api.get("registry", f"/api/residents/{mother}"))["children"] == []
