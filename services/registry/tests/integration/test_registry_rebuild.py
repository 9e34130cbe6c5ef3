"""The registry's read model can be dropped and rebuilt from its event store: rebuilt equals live."""

from __future__ import annotations

from datetime import timedelta

from registry_builders import LONGSHAN_2, registration


async def snapshot(service) -> dict[str, list]:
    pool, schema = service.runtime.pool, service.runtime.schema
    tables = ("residents", "births", "verifications", "discrepancies")
    return {t: [tuple(r) for r in await pool.fetch(f"SELECT * FROM {schema}.{t} ORDER BY 1, 2")] for t in tables}


async def test_the_read_model_rebuilt_from_history_equals_the_live_one(api, registry_service, clock):
    woman = (await api.post("/api/residents", json=registration())).json()
    path = f"/api/residents/{woman['resident_id']}"
    await api.post(f"{path}/moves", json={"to_unit": LONGSHAN_2})
    await api.post(f"{path}/births", json={"birth_date": "2013-10-10", "sex": "male", "reported_by": "hospital", "report_ref": "H-1"})
    await api.post(f"/api/verification-requests/{woman['verification_request_ids'][0]}/reply", json={
        "replied_on": "2013-12-01", "outcome": "confirmed"})
    man = (await api.post("/api/residents", json=registration(sex="male", birth_date="1970-01-01"))).json()
    await api.post(f"/api/residents/{man['resident_id']}/departure", json={"reason": "返乡", "destination_place": "370481"})
    clock.advance(timedelta(days=60))
    assert (await api.post("/api/reconciliation/hospital-births")).json()["found"]
    await api.post(f"/api/residents/{man['resident_id']}/erasure", json={"reason": "本人申请"})

    live = await snapshot(registry_service)
    registry = registry_service.registry
    replayed = await registry.read_model.rebuild(registry.store)
    assert replayed == await registry.store.head_position()
    assert await snapshot(registry_service) == live
