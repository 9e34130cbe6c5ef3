"""Concurrent commands on one resident: one wins, the other gets a conflict it can retry."""

from __future__ import annotations

import asyncio

from registry_builders import LONGSHAN_2, ZHONGXIN_1, registration, stored_events


async def test_two_staff_deciding_on_the_same_version_one_wins_the_other_retries(api):
    resident = (await api.post("/api/residents", json=registration())).json()
    path = f"/api/residents/{resident['resident_id']}"
    seen = resident["stream_version"]  # both staff looked at the resident at this version

    first = await api.post(f"{path}/moves", json={"to_unit": LONGSHAN_2, "expected_version": seen})
    second = await api.post(f"{path}/marital-status", json={"marital_status": "divorced", "expected_version": seen})
    assert first.status_code == 200
    assert second.status_code == 409
    conflict = second.json()
    assert second.headers["content-type"] == "application/problem+json" and conflict["status"] == 409
    assert conflict["errors"][0]["field"] == "stream_version" and conflict["actual_version"] == seen + 1
    assert conflict["stream_id"] == f"resident-{resident['resident_id']}" and conflict["expected_version"] == seen

    retried = await api.post(f"{path}/marital-status", json={"marital_status": "divorced", "expected_version": conflict["actual_version"]})
    assert retried.status_code == 200 and retried.json()["stream_version"] == seen + 2


async def test_racing_moves_never_lose_an_update(api, registry_service):
    resident = (await api.post("/api/residents", json=registration())).json()
    path = f"/api/residents/{resident['resident_id']}/moves"
    units = [LONGSHAN_2, ZHONGXIN_1] * 5
    answers = await asyncio.gather(*(api.post(path, json={"to_unit": unit}) for unit in units))

    assert {a.status_code for a in answers} <= {200, 409, 422}  # 422: the winner already moved them there
    winners = [a.json() for a in answers if a.status_code == 200]
    assert sorted(w["stream_version"] for w in winners) == list(range(3, 3 + len(winners)))
    moves = [e for e in await stored_events(registry_service) if e.event_type == "ResidentMoved"]
    assert len(moves) == len(winners)
    assert all(a.payload["to_unit"] == b.payload["from_unit"] for a, b in zip(moves, moves[1:], strict=False))


async def test_the_same_person_registered_twice_at_once_is_registered_once(api, registry_service):
    body = registration()
    answers = await asyncio.gather(*(api.post("/api/residents", json=body) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    winner = next(a.json() for a in answers if a.status_code == 201)
    assert all(a.json()["existing_id"] == winner["resident_id"] for a in answers if a.status_code == 409)
    registered = [e for e in await stored_events(registry_service) if e.event_type == "ResidentRegistered"]
    assert len(registered) == 1


async def test_a_person_who_left_and_came_back_is_registered_again(api, registry_service):
    body = registration()
    first = (await api.post("/api/residents", json=body)).json()
    await api.post(f"/api/residents/{first['resident_id']}/departure", json={"reason": "返乡"})
    again = await api.post("/api/residents", json=body)
    assert again.status_code == 201 and again.json()["resident_id"] != first["resident_id"]
    found = await api.post("/api/residents/lookup", json={"id_number": body["id_number"]})
    assert found.json()["resident_id"] == again.json()["resident_id"]
    # One person: the new registration carries the first one's resident id as the person key,
    # and a third registration still names the first (not the second) — the key is stable.
    registered = [e for e in await stored_events(registry_service) if e.event_type == "ResidentRegistered"]
    by_id = {e.payload["resident_id"]: e.payload for e in registered}
    assert by_id[first["resident_id"]].get("person_id") is None
    assert by_id[again.json()["resident_id"]]["person_id"] == first["resident_id"]
    await api.post(f"/api/residents/{again.json()['resident_id']}/departure", json={"reason": "返乡"})
    third = (await api.post("/api/residents", json=body)).json()
    registered = [e for e in await stored_events(registry_service) if e.event_type == "ResidentRegistered"]
    assert {e.payload["resident_id"]: e.payload for e in registered}[third["resident_id"]]["person_id"] == first["resident_id"]



async def test_a_marriage_names_the_spouse_on_the_event(api, registry_service):
    """The couple is served as one (contraceptives): the registry publishes whom she married."""
    bride = (await api.post("/api/residents", json=registration(marital_status="unmarried", birth_date="1990-03-01"))).json()
    groom_body = registration(sex="male", birth_date="1988-05-01", marital_status="unmarried")
    groom = (await api.post("/api/residents", json=groom_body)).json()
    married = await api.post(f"/api/residents/{bride['resident_id']}/marital-status",
                             json={"marital_status": "married", "spouse_resident_id": groom["resident_id"]})
    assert married.status_code == 200, married.text
    changed = [e for e in await stored_events(registry_service) if e.event_type == "MaritalStatusChanged"]
    assert changed[-1].payload["spouse_resident_id"] == groom["resident_id"]
    unknown = await api.post(f"/api/residents/{groom['resident_id']}/marital-status",
                             json={"marital_status": "married", "spouse_resident_id": "00000000-0000-4000-8000-000000000000"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "spouse_resident_id"


async def test_commands_that_state_no_version_are_decided_again_on_a_concurrent_change(api, registry_service):
    """Staff who state no expected_version ask for the change on the stream as it is: one that
    loses the race to another change of the same person is decided again, not refused (a
    family's report of a birth while the hospital's is taken in by the gate was a 409)."""
    resident = (await api.post("/api/residents", json=registration())).json()
    path = f"/api/residents/{resident['resident_id']}"
    permits = [{"permit_ref": f"RP-2013-{i:04d}", "issued_on": "2013-03-01", "valid_until": "2014-02-28"} for i in range(6)]
    answers = await asyncio.gather(
        api.post(f"{path}/moves", json={"to_unit": LONGSHAN_2}),
        api.post(f"{path}/marital-status", json={"marital_status": "divorced"}),
        *(api.post(f"{path}/residence-permits", json=permit) for permit in permits),
    )
    assert [a.status_code for a in answers] == [200, 200] + [201] * len(permits), [a.text for a in answers if a.status_code >= 300]
    versions = sorted(a.json()["stream_version"] for a in answers)
    assert versions == list(range(versions[0], versions[0] + len(answers)))  # each its own version, none lost
    stored = [e for e in await stored_events(registry_service) if e.stream_id == f"resident-{resident['resident_id']}"]
    assert len(stored) == resident["stream_version"] + len(answers)
