"""Which route a request reaches, and the problem it gets before any handler runs: no stack
needed (the app is not started, so nothing can be written)."""

from __future__ import annotations

import uuid

import httpx

from platform_kit.testing import bearer
import pytest

from registry.bootstrap import Settings, build


@pytest.fixture
async def unstarted():
    service = build(Settings(_env_file=None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service.app), base_url="http://registry", headers=bearer()) as client:
        yield client


async def problem(answer: httpx.Response, status: int, field: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["status"] == status and body["errors"][0]["field"] == field, body


async def test_the_lookup_is_not_taken_for_a_residents_id(unstarted):
    answer = await unstarted.get("/api/residents/lookup")
    await problem(answer, 405, "path")
    assert answer.headers["allow"] == "POST"


async def test_a_malformed_resident_id_names_nothing(unstarted):
    await problem(await unstarted.get("/api/residents/not-a-uuid"), 404, "path")
    await problem(await unstarted.post("/api/residents/12345/moves", json={"to_unit": "370402001001"}), 404, "path")
    await problem(await unstarted.post("/api/verification-requests/%00/reply", json={}), 404, "path")


async def test_a_registry_that_has_not_started_says_so(unstarted):
    await problem(await unstarted.get(f"/api/residents/{uuid.uuid4()}"), 503, "service")
    await problem(await unstarted.get("/api/units"), 503, "service")
