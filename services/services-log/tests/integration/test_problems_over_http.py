"""Every refusal over HTTP is one shape (RFC 9457 problem details), with the status the OpenAPI
document promises; nothing odd a client sends becomes a 500, and nothing is written for it."""

from __future__ import annotations

import uuid

import pytest

PROBLEM = "application/problem+json"
TRAINING = {
    "held_by_unit": "370402005000",
    "topic": "业务培训",
    "person_times": 2,
    "trainee_refs": ["staff-1", "staff-2"],
    "occurred_at": "2013-06-03T09:30:00+08:00",
}


def a_problem(answer, status: int, field: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    problem = answer.json()
    assert set(problem) == {"type", "title", "status", "detail", "errors"}
    assert problem["status"] == status
    assert any(field in e["field"] for e in problem["errors"]), problem
    assert problem["detail"] == f"{problem['errors'][0]['field']}: {problem['errors'][0]['reason']}"
    return problem


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/services", "service_id"),
        ("/api/surveys", "survey_id"),
        ("/api/trainings", "training_id"),
        ("/api/association-activities", "activity_id"),
    ],
)
async def test_a_record_that_does_not_exist_is_not_found(services_log, path, field):
    a_problem(await services_log.http.get(f"{path}/{uuid.uuid4()}"), 404, field)
    a_problem(await services_log.http.get(f"{path}/not-an-id"), 422, field)


async def test_a_path_that_does_not_exist_is_a_problem_too(services_log):
    a_problem(await services_log.http.get("/api/nothing-here"), 404, "path")
    a_problem(await services_log.http.get(f"/api/residents/{uuid.uuid4()}x"), 422, "resident_id")


async def test_a_reused_id_with_other_content_conflicts(services_log):
    training_id = str(uuid.uuid4())
    assert (await services_log.http.post("/api/trainings", json=TRAINING | {"training_id": training_id})).status_code == 201
    other = await services_log.http.post("/api/trainings", json=TRAINING | {"training_id": training_id, "person_times": 3})
    a_problem(other, 409, "training_id")


@pytest.mark.parametrize(
    ("path", "change", "field"),
    [
        ("/api/trainings", {"topic": "业务\x00培训"}, "topic"),
        ("/api/trainings", {"trainee_refs": ["staff-1\x00"]}, "trainee_refs"),
        ("/api/trainings", {"person_times": 10**40}, "person_times"),
        ("/api/trainings", {"training_id": "0" * 10_000}, "training_id"),
        ("/api/association-activities", {"association_ref": "association-03\x00", "activity": "讲座", "participants": 1}, "association_ref"),
        ("/api/association-activities", {"association_ref": "association-03", "activity": "讲\x00座", "participants": 1}, "activity"),
    ],
)
async def test_odd_input_is_refused_as_invalid_never_a_failure(services_log, path, change, field):
    command = {"occurred_at": TRAINING["occurred_at"]} | change
    if path == "/api/trainings":
        command = TRAINING | change
    a_problem(await services_log.http.post(path, json=command), 422, field)
    assert await services_log.stored_events() == []


async def test_a_huge_number_in_a_query_is_invalid(services_log):
    a_problem(await services_log.http.get("/api/awaiting-resident", params={"limit": 10**30}), 422, "limit")
    a_problem(await services_log.http.get("/api/awaiting-resident", params={"unit_code": "3704\x00"}), 422, "unit_code")
