"""What the OpenAPI fuzzers (tests/fuzz) found in the kit's problem details, one example each."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from platform_kit import problems


class Body(BaseModel):
    topic: str


def _client() -> TestClient:
    api = FastAPI()

    @api.post("/api/trainings")
    async def record(body: Body) -> dict:
        return {"ok": True}

    problems.install(api)
    return TestClient(api, raise_server_exceptions=False)


def test_a_body_that_is_not_utf8_is_the_documented_422_about_the_body():
    # Found by schemathesis: FastAPI answered bytes it cannot decode with a 400 no document
    # declared, naming "request" rather than the body.
    response = _client().post("/api/trainings", content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.headers["content-type"] == problems.MEDIA_TYPE
    assert response.json()["errors"] == [{"field": "body", "reason": "is not valid JSON (or not UTF-8)"}]
