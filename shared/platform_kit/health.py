"""Liveness and readiness, as an orchestrator (or a district's IT team) asks for them.

*Live*: the process answers. *Ready*: everything it depends on answers (the database, the
broker, its own background loops). Each check is a coroutine that raises when unhealthy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.protocol.metadata import MetadataRequest
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from platform_kit.database import checked_schema

Check = Callable[[], Awaitable[object]]


class Unhealthy(RuntimeError):
    """A check's failure that carries numbers for the readiness report."""

    def __init__(self, message: str, details: dict[str, object]) -> None:
        super().__init__(message)
        self.details = details


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
            details = await asyncio.wait_for(check(), timeout=self.timeout_seconds)
        except Exception as error:  # a failing check is a report, not a crash
            report: dict[str, object] = {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
            report.update(getattr(error, "details", None) or {})
            return report
        report = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
        if isinstance(details, dict):  # a check may return numbers for the report
            report.update(details)
        return report


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


def outbox_age_check(pool: asyncpg.Pool, schema: str, *, max_age_seconds: float = 60.0) -> Check:
    """Unready when the oldest unpublished event is older than ``max_age_seconds`` (the relay
    is down, stands by for a dead leader, or Kafka refuses it); reports the numbers, and how
    many events the relay parked as unpublishable."""
    checked = checked_schema(schema)

    async def check() -> dict[str, object]:
        row = await pool.fetchrow(
            f"SELECT count(*) AS pending, extract(epoch FROM now() - min(created_at))::float8 AS age, "
            f"(SELECT count(*) FROM {checked}.outbox_parked) AS parked FROM {checked}.outbox"
        )
        details = {
            "outbox_pending": row["pending"],
            "outbox_oldest_seconds": round(row["age"] or 0.0, 1),
            "outbox_parked": row["parked"],
        }
        if (row["age"] or 0.0) > max_age_seconds:
            raise Unhealthy(
                f"outbox: the oldest unpublished event is {row['age']:.0f}s old (limit {max_age_seconds:.0f}s), "
                f"{row['pending']} pending",
                details,
            )
        return details

    return check


class _LagSource(Protocol):
    last_error: str | None

    async def lag(self) -> dict[str, int]: ...

    def paused_reasons(self) -> dict[str, str]: ...


def projection_lag_check(runner: _LagSource, *, max_lag: int | None = None) -> Check:
    """A projection's lag per partition (end offset minus stored position) as numbers in the
    readiness report; unready while a partition is paused (an event newer than this reader)
    or, when ``max_lag`` is given, while the total lag exceeds it."""

    async def check() -> dict[str, object]:
        lag = await runner.lag()
        paused = runner.paused_reasons()
        details: dict[str, object] = {"lag": lag, "total_lag": sum(lag.values()), "paused": paused}
        if runner.last_error:
            details["retrying_after"] = runner.last_error
        if paused:
            raise Unhealthy(f"paused: {'; '.join(f'{tp}: {why}' for tp, why in paused.items())}", details)
        if max_lag is not None and details["total_lag"] > max_lag:  # type: ignore[operator]
            raise Unhealthy(f"lag: {details['total_lag']} events behind (limit {max_lag})", details)
        return details

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
