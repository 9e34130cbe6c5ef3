"""Liveness and readiness, as an orchestrator (or a district's IT team) asks for them.

*Live*: the process answers. *Ready*: everything it depends on answers (the database, the
broker, its own background loops). Each check is a coroutine that raises when unhealthy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.protocol.metadata import MetadataRequest
from fastapi import APIRouter
from fastapi.responses import JSONResponse

Check = Callable[[], Awaitable[None]]


class HealthChecks:
    def __init__(self, timeout_seconds: float = 2.0) -> None:
        self.timeout_seconds = timeout_seconds
        self._checks: dict[str, Check] = {}

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    async def readiness(self) -> dict[str, object]:
        results = await asyncio.gather(*(self._run(check) for check in self._checks.values()))
        checks = dict(zip(self._checks, results, strict=True))
        ready = all(result["ok"] for result in checks.values())
        return {"status": "ready" if ready else "not ready", "checks": checks}

    async def _run(self, check: Check) -> dict[str, object]:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(check(), timeout=self.timeout_seconds)
        except Exception as error:  # a failing check is a report, not a crash
            return {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def postgres_check(pool: asyncpg.Pool) -> Check:
    async def check() -> None:
        await pool.fetchval("SELECT 1")

    return check


def kafka_check(producer: AIOKafkaProducer, topic: str | None = None) -> Check:
    """A broker answers a metadata request for ``topic`` (or for no topic at all). Asking
    for every topic's metadata would cost as much as the cluster has topics: thousands on a
    shared broker, seconds on a loaded one, and a healthy service reported unready."""

    async def check() -> None:
        client = producer.client
        node_id = client.get_random_node()
        if node_id is None:
            raise RuntimeError("no Kafka broker is known")
        await client.send(node_id, MetadataRequest([topic] if topic else []))

    return check


def flag_check(description: str, is_ok: Callable[[], bool]) -> Check:
    """A check on a component's own state, e.g. "the relay leads or stands by"."""

    async def check() -> None:
        if not is_ok():
            raise RuntimeError(description)

    return check


def health_router(checks: HealthChecks) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/live", summary="The process answers")
    async def live() -> dict[str, str]:
        return {"status": "live"}

    @router.get("/health/ready", summary="The database, the broker and the background loops answer")
    async def ready() -> JSONResponse:
        report = await checks.readiness()
        return JSONResponse(report, status_code=200 if report["status"] == "ready" else 503)

    return router
