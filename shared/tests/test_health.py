"""Liveness and readiness over HTTP, checked against the real database and broker."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from platform_kit.database import create_pool
from platform_kit.health import HealthChecks, flag_check, health_router, kafka_check, postgres_check


def client_for(checks: HealthChecks) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(health_router(checks))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service")


async def test_ready_when_the_database_and_the_broker_answer(pool, producer):
    checks = HealthChecks()
    checks.add("postgres", postgres_check(pool))
    checks.add("kafka", kafka_check(producer))
    async with client_for(checks) as client:
        assert (await client.get("/health/live")).json() == {"status": "live"}
        ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and set(ready.json()["checks"]) == {"postgres", "kafka"}


async def test_not_ready_names_what_fails(stack):
    closed = await create_pool(stack.database_url, max_size=1)
    await closed.close()
    checks = HealthChecks()
    checks.add("postgres", postgres_check(closed))
    checks.add("relay", flag_check("the relay neither leads nor stands by", lambda: False))
    async with client_for(checks) as client:
        ready = await client.get("/health/ready")
    assert ready.status_code == 503
    body = ready.json()
    assert body["checks"]["postgres"]["ok"] is False and "closed" in body["checks"]["postgres"]["error"]
    assert body["checks"]["relay"] == {"ok": False, "error": "RuntimeError: the relay neither leads nor stands by"}
