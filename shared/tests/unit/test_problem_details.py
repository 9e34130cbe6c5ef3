"""Every service says no the same way: RFC 9457 problem details naming each field and why."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from platform_kit import problems
from platform_kit.event_store import ConcurrencyConflict


class Body(BaseModel):
    person_times: int = Field(ge=1, le=10_000)
    topic: str


def app() -> FastAPI:
    api = FastAPI()

    @api.post("/api/trainings", responses=problems.responses(404, 409))
    async def record(body: Body) -> dict:
        if body.topic == "missing":
            raise problems.NotFound("training_id", "no such training")
        if body.topic == "taken":
            raise problems.Conflict("training_id", "is recorded already")
        if body.topic == "raced":
            raise ConcurrencyConflict("training-1", 1, 2)
        if body.topic == "unstorable":
            raise asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence")
        if body.topic == "bug":
            raise KeyError("secret detail")
        return {"ok": True}

    problems.install(api)
    return api


client = TestClient(app(), raise_server_exceptions=False)


def answer(body):
    response = client.post("/api/trainings", json=body)
    assert response.headers["content-type"] == problems.MEDIA_TYPE
    return response.status_code, response.json()


def test_an_invalid_body_names_every_field_and_never_echoes_the_value():
    status, body = answer({"person_times": 0})
    assert status == 422 and body["title"] == "invalid" and body["status"] == 422
    assert {e["field"] for e in body["errors"]} == {"person_times", "topic"}
    assert body["detail"].startswith(body["errors"][0]["field"])


def test_unparsable_json_is_a_problem_about_the_body():
    response = client.post("/api/trainings", content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"


def test_refusals_map_to_404_and_409():
    assert answer({"person_times": 1, "topic": "missing"})[0] == 404
    assert answer({"person_times": 1, "topic": "taken"})[0] == 409
    status, body = answer({"person_times": 1, "topic": "raced"})
    assert status == 409 and body["errors"][0]["field"] == "stream_version"


def test_a_value_the_database_cannot_store_is_refused_not_a_500():
    assert answer({"person_times": 1, "topic": "unstorable"})[0] == 422


def test_a_bug_is_a_500_problem_that_tells_nothing_of_the_inside():
    status, body = answer({"person_times": 1, "topic": "bug"})
    assert status == 500 and "secret" not in str(body)


def test_an_unknown_route_is_a_problem_too():
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and response.headers["content-type"] == problems.MEDIA_TYPE


def test_the_openapi_document_says_problems_are_answered():
    document = client.get("/openapi.json").json()
    answers = document["paths"]["/api/trainings"]["post"]["responses"]
    for status in ("404", "409", "422"):
        assert answers[status]["content"] == {problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "HTTPValidationError" not in document["components"]["schemas"]
