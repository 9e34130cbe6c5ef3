"""What a service does, in Prometheus' text format at ``GET /metrics`` (docs/operations.md).

Each runtime has its own :class:`CollectorRegistry` (tests run many runtimes in one process).
Three kinds of figure:

* counted as it happens: HTTP requests by route *template* (``/api/people/{person_id}``, never
  the raw path, so the series stay few) and status, with latency histograms; loop failures;
  the age of each event when a projection applied it; anything a service counts itself
  through :func:`counter`;
* read at scrape time from the parts' own state: relay published count and leadership,
  projection applied / duplicates / dead letters (``RunnerStats``), lag per partition;
* read at scrape time from PostgreSQL, bounded by ``query_timeout_seconds``: the event store's
  head, the outbox's depth and the age of its oldest row, the projections' stored positions,
  and readiness. A database that does not answer in time leaves those series out and sets
  ``msp_metrics_database_ok`` to 0 — the scrape itself still answers.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_kit.envelope import Envelope
from platform_kit.logs import get_logger
from platform_kit.projection import Projection

if TYPE_CHECKING:
    from platform_kit.runtime import ServiceRuntime

log = get_logger(__name__)

# Event ages run from a fraction of a second (live) to hours (a rebuild reads old events).
AGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400)

_current: contextvars.ContextVar[RuntimeMetrics | None] = contextvars.ContextVar("msp_metrics", default=None)


def counter(name: str, documentation: str, labels: Sequence[str]) -> Counter:
    """A counter in the registry of the runtime being started (a service's ``setup`` builds its
    parts within the start), or in a private registry outside any runtime (unit tests). Asked
    twice for one name, it returns the same counter."""
    metrics = _current.get()
    if metrics is None:
        return Counter(name, documentation, labels, registry=CollectorRegistry())
    return metrics.counter(name, documentation, labels)


class RuntimeMetrics:
    def __init__(self, runtime: ServiceRuntime, *, query_timeout_seconds: float = 1.5) -> None:
        self.runtime = runtime
        self.query_timeout_seconds = query_timeout_seconds
        self.registry = CollectorRegistry(auto_describe=False)  # collect() reads parts built later
        r = self.registry
        self.http_requests = Counter(
            "msp_http_requests", "HTTP requests answered, by route template and status",
            ["method", "route", "status"], registry=r,
        )
        self.http_seconds = Histogram(
            "msp_http_request_duration_seconds", "Time to answer an HTTP request, by route template",
            ["method", "route"], registry=r,
        )
        self.loop_failures = Counter(
            "msp_loop_failures", "Background loop failures (each one restarted with back-off)", ["loop"], registry=r,
        )
        self.event_age = Histogram(
            "msp_projection_event_age_seconds",
            "From an event's recorded_at to its application in a projection (the runtime's clock)",
            ["projection"], buckets=AGE_BUCKETS, registry=r,
        )
        self._counters: dict[str, Counter] = {}
        self.snapshot = _Snapshot()
        r.register(_Collector(self))

    # ---- what parts count themselves ------------------------------------------------------

    def counter(self, name: str, documentation: str, labels: Sequence[str]) -> Counter:
        if name not in self._counters:
            self._counters[name] = Counter(name, documentation, list(labels), registry=self.registry)
        return self._counters[name]

    def building(self) -> contextvars.Token:
        """While the runtime starts, :func:`counter` lands here."""
        return _current.set(self)

    @staticmethod
    def built(token: contextvars.Token) -> None:
        _current.reset(token)

    def observed(self, projection: Projection) -> Projection:
        return _Observed(projection, self.event_age.labels(projection.name), self.runtime)

    # ---- scrape ---------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Read what only PostgreSQL and the health checks know, within the timeout."""
        snapshot = _Snapshot()
        # Side by side: a scrape waits for the slower of the two, never their sum.
        await asyncio.gather(self._read_database(snapshot), self._read_readiness(snapshot))
        self.snapshot = snapshot

    async def _read_database(self, snapshot: _Snapshot) -> None:
        try:
            await asyncio.wait_for(self._read(snapshot), timeout=self.query_timeout_seconds)
            snapshot.database_ok = True
        except Exception as error:  # a slow or absent database is a figure, not a failed scrape
            log.warning("metrics.database_unread", error=f"{type(error).__name__}: {error}"[:200])
            snapshot.database_ok = False

    async def _read_readiness(self, snapshot: _Snapshot) -> None:
        try:
            report = await self.runtime.health.readiness()  # each check bounded by its own timeout
            snapshot.ready = report["status"] == "ready"
            snapshot.checks = {name: bool(c["ok"]) for name, c in report["checks"].items()}  # type: ignore[union-attr]
        except Exception:
            snapshot.ready = False

    async def _read(self, snapshot: _Snapshot) -> None:
        runtime, pool = self.runtime, self.runtime.pool
        if pool is None:
            raise RuntimeError("the service is not started")
        async with pool.acquire() as conn:
            if runtime.store is not None:
                s = runtime.schema
                snapshot.head = await conn.fetchval(f"SELECT coalesce(max(position), 0) FROM {s}.events")
                row = await conn.fetchrow(
                    f"SELECT (SELECT count(*) FROM {s}.outbox) AS depth, "
                    f"(SELECT e.recorded_at FROM {s}.events e "
                    f" WHERE e.position = (SELECT min(position) FROM {s}.outbox)) AS oldest"
                )
                snapshot.outbox_depth = row["depth"]
                snapshot.outbox_oldest_age = _age(runtime, row["oldest"]) if row["oldest"] is not None else 0.0
            for runner in runtime.runners:
                rows = await conn.fetch(
                    f"SELECT topic, partition, next_offset FROM {runtime.schema}.consumer_positions WHERE consumer = $1",
                    runner.name,
                )
                snapshot.positions[runner.name] = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}

    def expose(self) -> bytes:
        return generate_latest(self.registry)


@dataclass
class _Snapshot:
    database_ok: bool | None = None
    ready: bool | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    head: int | None = None
    outbox_depth: int | None = None
    outbox_oldest_age: float | None = None
    positions: dict[str, dict[tuple[str, int], int]] = field(default_factory=dict)


def _age(runtime: ServiceRuntime, recorded_at: datetime) -> float:
    return max(0.0, (runtime.clock.now() - recorded_at).total_seconds())


class _Collector(Collector):
    """The figures the parts already keep, turned into series at scrape time."""

    def __init__(self, metrics: RuntimeMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        runtime, snap = self.metrics.runtime, self.metrics.snapshot
        yield _gauge("msp_up_info", "1: the service's metrics answer", [], [([], 1.0)])
        if snap.database_ok is not None:
            yield _gauge("msp_metrics_database_ok", "1: the scrape-time queries answered in time", [],
                         [([], float(snap.database_ok))])
        if snap.ready is not None:
            yield _gauge("msp_ready", "1: /health/ready would answer 200", [], [([], float(snap.ready))])
            yield _gauge("msp_health_check_ok", "1: this readiness check passes", ["check"],
                         [([name], float(ok)) for name, ok in snap.checks.items()])
        if snap.head is not None:
            yield _counter("msp_events_appended", "The event store's head position (events appended, ever)", [],
                           [([], float(snap.head))])
        if snap.outbox_depth is not None:
            yield _gauge("msp_outbox_depth", "Committed events not yet acknowledged by Kafka", [],
                         [([], float(snap.outbox_depth))])
            yield _gauge("msp_outbox_oldest_age_seconds", "Age of the oldest unpublished event (0: none)", [],
                         [([], snap.outbox_oldest_age or 0.0)])
        if runtime.relay is not None:
            relay = runtime.relay
            yield _counter("msp_relay_published", "Events the relay published and Kafka acknowledged", [],
                           [([], float(relay.published))])
            yield _gauge("msp_relay_leader", "1: this replica's relay leads (0: standby)", [],
                         [([], float(relay.is_leader))])
        yield from self._projections(runtime, snap)

    def _projections(self, runtime: ServiceRuntime, snap: _Snapshot) -> Iterator[Metric]:
        runners = list(runtime.runners)
        if not runners:
            return
        for name, attr, doc in (
            ("msp_projection_applied", "applied", "Events applied to the read model"),
            ("msp_projection_duplicates", "duplicates", "Events skipped as already applied (at-least-once)"),
            ("msp_projection_dead_letters", "dead_lettered", "Events sent to the dead-letter topic"),
            ("msp_projection_batches", "batches", "Transactions committed"),
        ):
            yield _counter(name, doc, ["projection"], [([r.name], float(getattr(r.stats, attr))) for r in runners])
        lag: list[tuple[list[str], float]] = []
        for runner in runners:
            consumer, stored = runner.consumer, snap.positions.get(runner.name)
            if consumer is None or stored is None:
                continue
            for tp in sorted(runner.stats.assigned):
                end = consumer.highwater(tp)  # from the last fetch response: no extra request
                if end is None:
                    continue
                applied = stored.get((tp.topic, tp.partition), 0)  # none stored: read from the start
                lag.append(([runner.name, tp.topic, str(tp.partition)], float(max(0, end - applied))))
        yield _gauge("msp_projection_lag_records", "End offset minus the stored (applied) position",
                     ["projection", "topic", "partition"], lag)


def _gauge(name: str, doc: str, labels: list[str], samples: list[tuple[list[str], float]]) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in samples:
        family.add_metric(values, value)
    return family


def _counter(name: str, doc: str, labels: list[str], samples: list[tuple[list[str], float]]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=labels)
    for values, value in samples:
        family.add_metric(values, value)
    return family


class _Observed(Projection):
    """The service's projection, timing each applied event's age. Everything else is the
    projection's own (attributes are read through)."""

    def __init__(self, inner: Projection, age: Any, runtime: ServiceRuntime) -> None:
        self.__dict__["_inner"], self.__dict__["_age"], self.__dict__["_runtime"] = inner, age, runtime

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_inner"], name)

    # Projection declares these on the class: read them from the service's projection.
    name = property(lambda self: self._inner.name)  # type: ignore[assignment]
    topics = property(lambda self: self._inner.topics)  # type: ignore[assignment]
    ddl = property(lambda self: self._inner.ddl)  # type: ignore[assignment]

    async def apply(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
        await self._inner.apply(conn, events)
        # Observed once apply returned: a batch retried one by one (a poison event) counts
        # each applied event once; a transaction lost after this point is rare and only
        # shows as one extra observation.
        now = self._runtime.clock.now()
        for event in events:
            self._age.observe(max(0.0, (now - event.recorded_at).total_seconds()))

    async def reset(self, conn: asyncpg.Connection) -> None:
        await self._inner.reset(conn)

    async def replayed(self, conn: asyncpg.Connection) -> None:
        await self._inner.replayed(conn)


class HttpMetrics:
    """ASGI middleware: each HTTP request counted under its matched route's template."""

    def __init__(self, app: ASGIApp, metrics: RuntimeMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client sees when the app raises before answering
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.http_requests.labels(method, template, str(status)).inc()
            self.metrics.http_seconds.labels(method, template).observe(time.perf_counter() - started)


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/metrics", summary="Prometheus metrics (text exposition format)", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        runtime_metrics: RuntimeMetrics = request.app.state.runtime.metrics
        await runtime_metrics.refresh()
        return Response(runtime_metrics.expose(), media_type=CONTENT_TYPE_LATEST)

    return router
