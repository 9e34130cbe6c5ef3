"""Asked before its database is there, the notifier answers 503 as a problem, not a 500."""

from __future__ import annotations

import uuid

import httpx

from platform_kit.testing import bearer

from notifier.bootstrap import Settings, build


async def test_a_request_before_the_pool_is_open_is_503_as_a_problem():
    app = build(Settings(_env_file=None)).app  # not started: no lifespan, no pool
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notifier", headers=bearer()) as api:
        for answer in [await api.get("/api/units/370402001001/inbox"), await api.get(f"/api/notifications/{uuid.uuid4()}"),
                       await api.get("/api/dead-letters")]:
            assert answer.status_code == 503 and answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["errors"] == [{"field": "service", "reason": "the notifier is starting; try again"}]
