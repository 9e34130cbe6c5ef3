"""清理清查 against the real database and broker, with the district's clock in the test's hand:
hospital births nobody else reported in time, and children a sweep finds without a record."""

from __future__ import annotations

from datetime import timedelta

import uuid

import httpx
from registry_builders import registry_settings
from registry_builders import LONGSHAN_1, ZHONGXIN_1, department_envelope, events_caused_by, published, registration, send

from platform_kit.testing import bearer, wait_until
from registry.bootstrap import build


async def mother(api, **overrides) -> str:
    return (await api.post("/api/residents", json=registration(**overrides))).json()["resident_id"]


def hospital_report(mother_id: str, birth_date: str = "2013-11-20", ref: str = "ZZSLH-1") -> dict:
    return department_envelope("health", "BirthReported", {
        "mother_resident_id": mother_id, "child_resident_id": str(uuid.uuid4()), "birth_date": birth_date,
        "sex": "female", "reported_by": "hospital", "report_ref": ref})


async def test_a_hospital_birth_the_family_never_reported_is_found_after_the_grace_period(api, registry_service, producer, clock):
    silent, reporting = await mother(api), await mother(api, unit_code=ZHONGXIN_1)
    for report in (hospital_report(silent), hospital_report(reporting, ref="ZZSLH-2")):
        await send(producer, registry_service, "health", report)
        await wait_until(lambda r=report: _appended(registry_service, r), timeout=30, what="the hospital's report appended")
    family = await api.post(f"/api/residents/{reporting}/births", json={
        "birth_date": "2013-11-21", "sex": "female", "reported_by": "family", "report_ref": "家-1"})
    assert family.status_code == 201 and family.json()["stream_version"] == 4  # linked: no second child

    clock.advance(timedelta(days=15))  # 2013-12-16: the family still has until 2013-12-20
    assert (await api.post("/api/reconciliation/hospital-births")).json() == {"found": []}

    clock.advance(timedelta(days=20))
    (found,) = (await api.post("/api/reconciliation/hospital-births")).json()["found"]
    assert found["kind"] == "hospital_report_without_registry_birth" and found["mother_resident_id"] == silent
    assert found["unit_code"] == LONGSHAN_1 and "30 days" in found["detail"]
    assert (await api.post("/api/reconciliation/hospital-births")).json() == {"found": []}  # found once
    assert [d["discrepancy_id"] for d in (await api.get("/api/discrepancies")).json()] == [found["discrepancy_id"]]
    published_findings = [e for e in await published(registry_service) if e.event_type == "BirthDiscrepancyFound"]
    assert [e.payload["discrepancy_id"] for e in published_findings] == [found["discrepancy_id"]]


async def test_a_sweep_finds_a_child_living_without_a_birth_record(api, registry_service):
    woman = await mother(api)
    unrecorded = (await api.post("/api/residents", json=registration(
        name="王小丫", sex="female", birth_date="2013-03-02", marital_status="unmarried", id_number=None, phone=None,
        mother_resident_id=woman))).json()["resident_id"]
    await api.post(f"/api/residents/{woman}/births", json={
        "birth_date": "2012-02-02", "sex": "male", "reported_by": "community", "report_ref": "社区-9"})  # recorded, and older

    sweep = await api.post("/api/sweeps", json={"unit_code": "370402005000", "born_since": "2012-01-01"})
    (found,) = sweep.json()["found"]
    assert found["child_resident_id"] == unrecorded and found["kind"] == "child_without_birth_record"
    assert found["found_by"] == "sweep" and found["mother_resident_id"] == woman
    assert (await api.post("/api/sweeps", json={"unit_code": "370402005000", "born_since": "2012-01-01"})).json() == {"found": []}

    late = await api.post(f"/api/residents/{woman}/births", json={  # the family reports it at last
        "birth_date": "2013-03-02", "sex": "female", "reported_by": "family", "report_ref": "家-补", "child_resident_id": unrecorded})
    assert late.status_code == 201 and late.json()["child_resident_id"] == unrecorded
    assert len((await api.get(f"/api/residents/{woman}")).json()["children"]) == 2


async def test_the_reconciliation_runs_by_itself(stack, schema, namespace, producer, clock):
    service = build(registry_settings(stack, namespace, database_schema=schema, reconciliation_interval_seconds=0.2), clock=clock)
    await service.runtime.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service.app), base_url="http://registry", headers=bearer()) as api:
            woman = await mother(api)
            report = hospital_report(woman, birth_date="2013-10-01")  # 61 days ago: overdue at once
            await send(producer, service, "health", report)

            async def found() -> bool:
                return len((await api.get("/api/discrepancies")).json()) == 1

            await wait_until(found, timeout=30, what="the periodic reconciliation found the unreported birth")
    finally:
        await service.runtime.stop()


async def _appended(service, report: dict) -> bool:
    return bool(await events_caused_by(service, report["event_id"]))
