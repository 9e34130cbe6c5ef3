"""Where residents live, as the registry tells the services log on registry.events — including
when the registry's word comes after the service was recorded."""

from __future__ import annotations

import contextlib
import uuid
from datetime import date, datetime, timedelta, timezone

from platform_kit.testing import wait_until
from services_log.service_layer import recorder

CST = timezone(timedelta(hours=8))
YONGFU, KANGLE, JIANSHE = "370402005001", "370402005002", "370402001001"


def at(month: int, day: int) -> datetime:
    return datetime(2013, month, day, 9, 30, tzinfo=CST)


def check(resident_id: uuid.UUID, unit: str, when: datetime) -> dict:
    return {
        "service_kind": "pregnancy_check",
        "resident_id": str(resident_id),
        "delivered_by_unit": unit,
        "staff_ref": "staff-0412",
        "occurred_at": when.isoformat(),
    }


async def resolved(services_log, stream_id: str) -> dict:
    async def has_resolution() -> bool:
        return any(e.stream_id == stream_id for e in await services_log.stored_events("ResidenceResolved"))

    await wait_until(has_resolution, timeout=30, what=f"{stream_id} resolved")
    return next(e for e in await services_log.stored_events("ResidenceResolved") if e.stream_id == stream_id).payload


async def test_a_service_for_a_resident_living_elsewhere_is_accepted_as_cross_unit(services_log):
    resident = uuid.uuid4()
    await services_log.registry_publishes(services_log.registry.registered(resident, YONGFU, at(3, 1)))

    answer = await services_log.http.post(
        "/api/services", json=check(resident, JIANSHE, at(6, 3)) | {"cross_unit_reason": "在本社区企业务工"}
    )

    assert answer.status_code == 201, answer.text
    assert (answer.json()["residence"], answer.json()["resident_unit"]) == ("lives_elsewhere", YONGFU)
    [event] = await services_log.stored_events()
    assert event.unit_code == JIANSHE and event.payload["cross_unit_reason"] == "在本社区企业务工"


async def test_a_service_before_a_move_counts_where_the_resident_lived_then(services_log):
    resident, registry = uuid.uuid4(), services_log.registry
    await services_log.registry_publishes(
        registry.registered(resident, YONGFU, at(3, 1)), registry.moved(resident, YONGFU, KANGLE, at(7, 1))
    )

    before = await services_log.http.post("/api/services", json=check(resident, YONGFU, at(6, 3)))
    after = await services_log.http.post("/api/services", json=check(resident, YONGFU, at(8, 3)))

    assert before.json()["residence"] == "lives_here"
    assert (after.json()["residence"], after.json()["resident_unit"]) == ("lives_elsewhere", KANGLE)


async def test_a_service_for_a_resident_not_yet_known_is_placed_when_the_registry_event_arrives(services_log):
    newcomer = uuid.uuid4()
    answer = await services_log.http.post("/api/services", json=check(newcomer, YONGFU, at(6, 3)))
    assert answer.status_code == 201, answer.text
    recorded = answer.json()
    assert (recorded["residence"], recorded["resident_unit"]) == ("not_yet_known", None)
    awaiting = (await services_log.http.get("/api/awaiting-resident", params={"unit_code": YONGFU})).json()
    assert [(a["id"], a["resident_id"]) for a in awaiting] == [(recorded["id"], str(newcomer))]

    registration = services_log.registry.registered(newcomer, YONGFU, at(6, 5))
    await services_log.registry_publishes(registration)

    resolution = await resolved(services_log, recorded["stream_id"])
    assert (resolution["residence"], resolution["resident_unit"]) == ("lives_here", YONGFU)
    service = (await services_log.http.get(f"/api/services/{recorded['id']}")).json()
    assert (service["residence"], service["stream_version"]) == ("lives_here", 2)
    assert service["residence_resolved_at"] is not None
    assert (await services_log.http.get("/api/awaiting-resident")).json() == []
    [event] = await services_log.stored_events("ResidenceResolved")
    assert event.causation_id == registration.event_id and event.occurred_at == at(6, 3)

    async def both_published_in_order() -> bool:
        return [e.stream_version for e in await services_log.published() if e.stream_id == recorded["stream_id"]] == [
            1,
            2,
        ]

    await wait_until(both_published_in_order, timeout=30, what="the service and its resolution on services.events")


async def test_a_late_registration_elsewhere_or_a_departure_resolves_accordingly(services_log):
    worker, leaver, registry = uuid.uuid4(), uuid.uuid4(), services_log.registry
    served_elsewhere = await services_log.http.post("/api/services", json=check(worker, JIANSHE, at(6, 3)))
    surveyed = await services_log.http.post(
        "/api/surveys",
        json={
            "survey_kind": "policy_awareness",
            "resident_id": str(leaver),
            "aware": True,
            "surveyed_by_unit": YONGFU,
            "occurred_at": at(6, 3).isoformat(),
        },
    )

    await services_log.registry_publishes(
        registry.registered(worker, YONGFU, at(3, 1)),
        registry.registered(leaver, YONGFU, at(3, 1)),
        registry.departed(leaver, YONGFU, at(5, 1)),
    )

    assert (await resolved(services_log, served_elsewhere.json()["stream_id"]))["residence"] == "lives_elsewhere"
    assert (await resolved(services_log, surveyed.json()["stream_id"]))["residence"] == "departed"


async def test_a_marital_status_alone_does_not_place_a_resident(services_log):
    resident = uuid.uuid4()
    answer = await services_log.http.post("/api/services", json=check(resident, YONGFU, at(6, 3)))

    await services_log.registry_publishes(
        services_log.registry.marital_status_changed(resident, YONGFU, at(6, 4), to="married")
    )

    assert await services_log.stored_events("ResidenceResolved") == []
    assert [a["id"] for a in (await services_log.http.get("/api/awaiting-resident")).json()] == [answer.json()["id"]]


async def test_the_registry_view_rebuilt_from_the_beginning_equals_the_live_one(services_log):
    registry, residents = services_log.registry, [uuid.uuid4() for _ in range(30)]
    waiting = await services_log.http.post("/api/services", json=check(residents[0], YONGFU, at(6, 3)))
    history = []
    for i, resident in enumerate(residents):
        history.append(
            registry.registered(
                resident,
                YONGFU if i % 2 else KANGLE,
                at(3, 1 + i % 28),
                sex=("female", "male")[i % 2],
                birth_date=date(1980 + i % 20, 1 + i % 12, 1),
            )
        )
        if i % 3 == 0:
            history.append(registry.moved(resident, YONGFU if i % 2 else KANGLE, JIANSHE, at(7, 1 + i % 28)))
        if i % 5 == 0:
            history.append(registry.marital_status_changed(resident, JIANSHE, at(8, 1), to="divorced"))
        if i % 7 == 0:
            history.append(registry.departed(resident, JIANSHE if i % 3 == 0 else KANGLE, at(9, 1)))
    await services_log.registry_publishes(*history)
    await resolved(services_log, waiting.json()["stream_id"])
    runner, view = services_log.view_runner, services_log.service.registry_view
    live = await view.snapshot(services_log.service.runtime.pool)
    applied_live = runner.stats.applied

    runner.request_rebuild()

    async def read_again() -> bool:
        return runner.stats.applied >= 2 * applied_live

    await wait_until(read_again, timeout=60, what="the registry view rebuilt")
    await services_log.view_caught_up()
    assert await view.snapshot(services_log.service.runtime.pool) == live
    assert len(live[0]) == 30 and len(live[1]) == len([e for e in history if e.event_type != "MaritalStatusChanged"])
    assert len(await services_log.stored_events("ResidenceResolved")) == 1  # a rebuild resolves nothing twice


def registration_arriving_on(services_log, registration, *, locked: bool):
    """``resident_facts`` (``locked``: the read under the resident's lock) or ``residents_facts``
    (the first read, without it) that lets the registration arrive and gives the view up to 2 s
    to apply it before answering."""
    read_the_view = recorder.resident_facts if locked else recorder.residents_facts
    pool, schema = services_log.service.runtime.pool, services_log.schema
    arrived = []

    async def read_then_let_the_registration_arrive(conn, schema_, resident_ids):
        facts = await read_the_view(conn, schema_, resident_ids)  # "not yet known"
        if arrived:
            return facts
        arrived.append(True)
        await services_log.publish(services_log.topics.registry_events, [registration])

        async def view_knows_them() -> bool:
            query = f"SELECT count(*) FROM {schema}.registry_residence_changes WHERE resident_id = $1"
            return await pool.fetchval(query, uuid.UUID(str(registration.payload["resident_id"]))) > 0

        with contextlib.suppress(TimeoutError):
            await wait_until(view_knows_them, timeout=2, what="the view applying the registration")
        return facts

    return read_then_let_the_registration_arrive


async def test_a_registration_arriving_while_a_service_is_recorded_still_places_it(services_log, monkeypatch):
    newcomer = uuid.uuid4()
    registration = services_log.registry.registered(newcomer, YONGFU, at(6, 1))
    # Under the resident's lock the view must not get to apply it before this service commits
    # (it would find nothing waiting).
    monkeypatch.setattr(recorder, "resident_facts", registration_arriving_on(services_log, registration, locked=True))
    answer = await services_log.http.post("/api/services", json=check(newcomer, YONGFU, at(6, 3)))
    monkeypatch.undo()

    assert answer.json()["residence"] == "not_yet_known"
    assert (await resolved(services_log, answer.json()["stream_id"]))["residence"] == "lives_here"


async def test_a_registration_arriving_after_the_first_unlocked_read_places_the_service_at_once(services_log, monkeypatch):
    """The first read takes no lock (a known resident's record joins the store's group commit);
    "not yet known" there is only a hint: decided again under the lock, the service is placed
    by the registration that arrived meanwhile, and nothing is left waiting."""
    newcomer = uuid.uuid4()
    registration = services_log.registry.registered(newcomer, YONGFU, at(6, 1))
    monkeypatch.setattr(recorder, "residents_facts", registration_arriving_on(services_log, registration, locked=False))
    answer = await services_log.http.post("/api/services", json=check(newcomer, YONGFU, at(6, 3)))
    monkeypatch.undo()

    assert answer.status_code == 201, answer.text
    assert answer.json()["residence"] == "lives_here"
    waiting = f"SELECT count(*) FROM {services_log.schema}.awaiting_resident"
    assert await services_log.service.runtime.pool.fetchval(waiting) == 0
    assert await services_log.stored_events("ResidenceResolved") == []


async def test_the_registrys_corrections_place_the_resident_where_the_record_now_says(services_log):
    """纠正错误: a registration entered in the wrong unit, a move entered on the wrong day and a
    move that never happened, each corrected by the registry (ResidentRecordCorrected): the
    services log places later services by the corrected record, not by what was first entered."""
    registry = services_log.registry
    wrong_unit, wrong_day, never_moved = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    registered_wrong = registry.registered(wrong_unit, YONGFU, at(3, 1))
    registered_a = registry.registered(wrong_day, YONGFU, at(3, 1))
    moved_late = registry.moved(wrong_day, YONGFU, KANGLE, at(7, 1))
    registered_b = registry.registered(never_moved, YONGFU, at(3, 1))
    moved_never = registry.moved(never_moved, YONGFU, KANGLE, at(4, 1))
    await services_log.registry_publishes(
        registered_wrong, registered_a, moved_late, registered_b, moved_never,
        registry.corrected(registered_wrong, KANGLE, at(3, 1), unit_code=KANGLE),
        registry.corrected(moved_late, KANGLE, at(5, 1), happened_at=at(5, 1)),
        registry.corrected(moved_never, YONGFU, at(4, 1), withdrawn=True),
    )

    async def residence(resident: uuid.UUID, when: datetime) -> tuple[str, str | None]:
        answer = await services_log.http.post("/api/services", json=check(resident, YONGFU, when) | {"cross_unit_reason": "务工"})
        assert answer.status_code == 201, answer.text
        return answer.json()["residence"], answer.json()["resident_unit"]

    assert await residence(wrong_unit, at(6, 3)) == ("lives_elsewhere", KANGLE)
    assert await residence(wrong_day, at(6, 3)) == ("lives_elsewhere", KANGLE)  # moved on 5/1, not 7/1
    assert await residence(never_moved, at(6, 3)) == ("lives_here", YONGFU)
