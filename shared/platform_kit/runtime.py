"""One service process, wired the same way in all four services.

A service declares itself once (:class:`ServiceDeclaration`: its schema and topic, its
projections, its HTTP routers, its translation of department facts, and three hooks) and the
runtime does the rest, in this order:

1. logging, the database pool, the Kafka producer, the public topics;
2. the event store's tables, then the service's ``setup`` hook ("tables ready": its own
   tables and its service layer, built on the started pool and store);
3. the outbox relay, the projection runners, the service's own ``loops``, the department
   gate: each supervised (restarted with back-off after a failure; readiness says so);
4. HTTP: ``/health/live``, ``/health/ready``, ``/metrics`` (:mod:`platform_kit.metrics`), ``POST /api/admin/rebuild`` (when the service
   has projections, the district only), the service's routers, every failure answered as a problem (RFC 9457).

Who may call (docs/security.md): the token verifier is built when the runtime is made, so a
production service without its identity provider's keys (or with the development key) refuses
to start. Health, metrics and the OpenAPI document stay open (probes and scrapers carry no
token); every router of the service requires a staff token (:func:`require_staff`) unless it
was marked :func:`open_to_all` (a page's static files, which carry no data).

A stop runs the other way and always closes the pool and the producer, even when a loop does
not finish within ``shutdown_timeout_seconds`` (it is cancelled).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware

from platform_kit import problems, tracing
from platform_kit.audit.chain import ChainSealer
from platform_kit.auth import (
    AuthSettings,
    Principal,
    TokenVerifier,
    build_verifier,
    install_auth,
    install_security_headers,
    require_district_action,
    require_principal,
)
from platform_kit.catalogue import EventCatalogue
from platform_kit.clock import Clock
from platform_kit.database import create_pool
from platform_kit.event_store import EventStore
from platform_kit.gate import Accept, DepartmentGate, broker_logger
from platform_kit.http_params import refuse_undeclared_query
from platform_kit.health import (
    HealthChecks,
    flag_check,
    health_router,
    kafka_check,
    outbox_age_check,
    postgres_check,
    projection_lag_check,
)
from platform_kit.kafka import ensure_topics, idempotent_producer
from platform_kit.logs import configure_logging, get_logger
from platform_kit.metrics import HttpMetrics, RuntimeMetrics, metrics_router
from platform_kit.outbox_relay import OutboxRelay
from platform_kit.projection import Projection, ProjectionRunner
from platform_kit.settings import KitSettings
from platform_kit.topics import Topics

log = get_logger(__name__)

Loop = Callable[[asyncio.Event], Awaitable[None]]
Hook = Callable[["ServiceRuntime"], Awaitable[None]]


@dataclass
class ServiceDeclaration:
    """What a service is, said once; the runtime builds and runs the rest.

    ``package`` names the installed distribution (its version is the API's version).
    ``publishes_to`` is the topic the event store is relayed to (None: the service keeps no
    store). ``accept`` is the service's translation of a department fact into its command
    (None: it reads no department topic). ``setup`` runs once the pool and the store are ready
    and before anything consumes or serves; ``loops`` then names the service's own
    background loops; ``teardown`` runs after they have stopped."""

    name: str
    title: str
    description: str
    package: str
    publishes_to: Callable[[Topics], str] | None = None
    projections: Sequence[Projection] = ()
    routers: Sequence[APIRouter] = ()
    accept: Accept | None = None
    setup: Hook | None = None
    loops: Callable[[ServiceRuntime], Mapping[str, Loop]] | None = None
    teardown: Hook | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Topics a service's own loops publish besides its relay's (the registry's tasks.<department>):
    # topic -> (event types, description), for the contract documents only.
    also_publishes: Callable[[Topics], Mapping[str, tuple[Sequence[str], str]]] | None = None


def package_version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "0.0.0+unknown"


class ServiceRuntime:
    def __init__(
        self,
        settings: KitSettings,
        declaration: ServiceDeclaration | None = None,
        *,
        schema: str | None = None,
        publishes_to: str | None = None,
        projections: Sequence[Projection] | None = None,
        catalogue: EventCatalogue | None = None,
        clock: Clock | None = None,
        verifier: TokenVerifier | None = None,
    ) -> None:
        """``declaration`` describes a whole service; the keyword arguments alone run the kit's
        parts without one (the kit's own tests). ``verifier`` checks bearer tokens; by default
        it is built from ``AUTH_*`` now, so a misconfigured service stops here, not at the first
        request."""
        from platform_kit.contract import catalogue as contract_catalogue

        self.settings = settings
        self.declaration = declaration
        self.schema = schema or settings.database_schema
        self.topics = Topics(settings.topic_namespace)
        if publishes_to is None and declaration is not None and declaration.publishes_to is not None:
            publishes_to = declaration.publishes_to(self.topics)
        self.publishes_to = publishes_to
        self.projections = list(projections if projections is not None else (declaration.projections if declaration else ()))
        self.catalogue = catalogue or contract_catalogue
        self.clock = clock or settings.clock()
        self.auth = verifier or build_verifier(AuthSettings())
        # A loaded machine answers slowly, not wrongly: readiness waits a few seconds per check.
        self.health = HealthChecks(timeout_seconds=5.0)
        self.metrics = RuntimeMetrics(self)
        self.pool: asyncpg.Pool | None = None
        self.producer: AIOKafkaProducer | None = None
        self.store: EventStore | None = None
        self.relay: OutboxRelay | None = None
        self.sealer: ChainSealer | None = None
        self.runners: list[ProjectionRunner] = []
        self.gate: DepartmentGate | None = None
        self.broker: KafkaBroker | None = None
        if declaration is not None and declaration.accept is not None:
            self.gate = DepartmentGate(
                declaration.name, catalogue=self.catalogue, topics=self.topics, accept=declaration.accept,
                store=lambda: self.store, conflict_retries=settings.ingest_conflict_retries, clock=self.clock,
            )
            # A list: FastStream wraps a plain string in a list, and aiokafka does not split a
            # string inside a list on commas, so "a:9092,b:9092,c:9092" was one unknown host.
            self.broker = KafkaBroker(
                [s.strip() for s in settings.kafka_bootstrap_servers.split(",") if s.strip()], client_id=f"{declaration.name}-ingest",
                logger=broker_logger(declaration.name), log_level=10, security=settings.kafka_security().faststream(),
                # FastStream's own: a department's traceparent header is continued, a rejection carries it.
                middlewares=[KafkaTelemetryMiddleware()],
            )
            self.gate.subscribe(
                self.broker, instance_id=settings.ingest_instance_id,
                session_timeout_ms=settings.ingest_session_timeout_ms, retry_seconds=settings.ingest_retry_seconds,
                max_records=settings.ingest_batch_max_records, concurrency=settings.ingest_concurrency,
            )
        self.started = False
        self._set_up = False
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._healthy: dict[str, bool] = {}

    @property
    def name(self) -> str:
        return self.declaration.name if self.declaration else self.settings.service_name

    # ---- start and stop ------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        configure_logging(s.service_name, s.log_level, s.log_format)
        tracing.configure(s.service_name)
        self._stop.clear()
        self._tasks = []
        self._set_up = False
        building = self.metrics.building()
        try:
            await self._start()
        except BaseException:
            # A failed start leaks nothing: loops stopped, the service's own parts torn down.
            self._stop.set()
            for task in self._tasks:
                task.cancel()
            if self._set_up and self.declaration is not None and self.declaration.teardown is not None:
                with _logged("teardown"):
                    await self.declaration.teardown(self)
            await self._close()
            raise
        finally:
            self.metrics.built(building)
        self.started = True
        log.info("service.started", schema=self.schema, projections=[p.name for p in self.projections])

    async def _start(self) -> None:
        s = self.settings
        self.pool = await create_pool(s.database_url, max_size=s.database_pool_size)
        self.producer = idempotent_producer(s.kafka_bootstrap_servers, client_id=s.service_name, security=s.kafka_security())
        await self.producer.start()
        await ensure_topics(
            s.kafka_bootstrap_servers, self.topics.public,
            partitions=s.topic_partitions, replication_factor=s.topic_replication_factor, security=s.kafka_security(),
        )
        self.health.add("postgres", postgres_check(self.pool))
        self.health.add("kafka", kafka_check(self.producer, self.publishes_to))
        if self.publishes_to is not None:
            self.store = EventStore(self.pool, self.schema)
            await self.store.setup()
        if self.declaration is not None and self.declaration.setup is not None:
            await self.declaration.setup(self)
            self._set_up = True
        if self.publishes_to is not None:
            self.relay = OutboxRelay(
                database_url=s.database_url, schema=self.schema, topic=self.publishes_to,
                producer_factory=self._relay_producer, batch_size=s.relay_batch_size,
                idle_poll_seconds=s.relay_idle_poll_seconds, lease_seconds=s.relay_lease_seconds,
            )
            self.supervise("relay", self.relay.run)
            self.health.add("outbox", outbox_age_check(self.pool, self.schema, max_age_seconds=s.outbox_max_age_seconds))
            # Tamper evidence beside the store (platform_kit.audit.chain): the append path is untouched.
            self.sealer = ChainSealer(self.pool, self.schema)
            await self.sealer.setup()
            self.supervise("audit-chain", self.sealer.run)
        for projection in self.projections:
            runner = ProjectionRunner(
                self.metrics.observed(projection), pool=self.pool, schema=self.schema, bootstrap_servers=s.kafka_bootstrap_servers,
                producer=self.producer, catalogue=self.catalogue, batch_size=s.projection_batch_size,
                topic_partitions=s.topic_partitions, topic_replication_factor=s.topic_replication_factor,
            )
            await runner.setup()
            self.runners.append(runner)
            self.supervise(f"projection:{projection.name}", runner.run)
            self.health.add(f"projection-lag:{projection.name}", projection_lag_check(runner))
        if self.declaration is not None and self.declaration.loops is not None:
            for name, loop in self.declaration.loops(self).items():
                self.supervise(name, loop)
        if self.broker is not None:
            await self.broker.start()
            self.health.add("ingest", self._ingest_answers)

    async def _relay_producer(self) -> AIOKafkaProducer:
        """The relay's own producer, which it replaces after a failed send (a producer left
        broken by a refused batch would refuse every later one)."""
        producer = idempotent_producer(
            self.settings.kafka_bootstrap_servers, client_id=f"{self.settings.service_name}-relay", security=self.settings.kafka_security()
        )
        await producer.start()
        return producer

    async def _ingest_answers(self) -> None:
        assert self.broker is not None
        if not await self.broker.ping(timeout=4.0):
            raise RuntimeError("the department ingest's Kafka connection does not answer")

    async def stop(self) -> None:
        """Stop consuming, let the loops finish (cancelling those that do not in time), run the
        service's teardown, and close the producer and the pool whatever happened before."""
        self._stop.set()
        try:
            if self.broker is not None and self.started:
                with _logged("ingest"):
                    await self.broker.stop()
            if self._tasks:
                done, pending = await asyncio.wait(self._tasks, timeout=self.settings.shutdown_timeout_seconds)
                for task in pending:
                    log.warning("service.loop_cancelled", loop=task.get_name(), after_seconds=self.settings.shutdown_timeout_seconds)
                    task.cancel()
                if pending:
                    await asyncio.wait(pending, timeout=5)
            if self.declaration is not None and self.declaration.teardown is not None and self.started:
                with _logged("teardown"):
                    await self.declaration.teardown(self)
        finally:
            await self._close()
            self.started = False
            log.info("service.stopped", schema=self.schema)

    async def _close(self) -> None:
        self._tasks.clear()
        self.runners.clear()
        producer, pool = self.producer, self.pool
        self.producer = self.pool = None
        if producer is not None:
            with _logged("producer"):
                await asyncio.wait_for(producer.stop(), timeout=10)
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=10)
            except Exception:  # a connection that hangs must not keep the process
                pool.terminate()

    def supervise(self, name: str, loop: Loop) -> None:
        """Run a background loop until the service stops, restarting it with back-off when it
        fails; readiness reports it meanwhile."""
        self._healthy[name] = True
        self.health.add(name, flag_check(f"{name} is restarting after a failure", lambda: self._healthy[name]))
        self._tasks.append(asyncio.create_task(self._keep_running(name, loop), name=name))

    async def _keep_running(self, name: str, loop: Loop) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                await loop(self._stop)
                return
            except Exception as error:
                self._healthy[name] = False
                self.metrics.loop_failures.labels(name).inc()
                log.error("service.loop_failed", loop=name, error=f"{type(error).__name__}: {error}"[:500], retry_in=delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
                delay = min(delay * 2, 30.0)
                self._healthy[name] = True

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    # ---- HTTP ----------------------------------------------------------------------------

    def http_app(
        self,
        *,
        title: str | None = None,
        version: str | None = None,
        description: str | None = None,
        routers: Sequence[APIRouter] | None = None,
    ) -> FastAPI:
        """The service's HTTP API (OpenAPI at /openapi.json): health, rebuild, its routers,
        every failure a problem. ``request.app.state.runtime`` is this runtime."""
        d = self.declaration
        app = FastAPI(
            title=title or (d.title if d else self.name),
            version=version or (package_version(d.package) if d else "0.0.0"),
            description=description or (d.description if d else ""),
            lifespan=self.lifespan,
            telemetry=tracing.FASTAPI_TELEMETRY,
            dependencies=[Depends(refuse_undeclared_query)],
        )
        app.state.runtime = self
        install_auth(app, verifier=self.auth)
        app.include_router(health_router(self.health))
        app.include_router(metrics_router())
        app.add_middleware(HttpMetrics, metrics=self.metrics)
        install_security_headers(app)
        app.add_middleware(tracing.HttpTracing)  # the caller's trace context, also when nothing records
        if self.projections:
            app.include_router(_rebuild_router())
        for router in routers if routers is not None else (d.routers if d else ()):
            # Closed unless marked open: a route added later is guarded without anyone remembering to.
            if getattr(router, _OPEN, False):
                app.include_router(router)
            else:
                app.include_router(router, dependencies=[Depends(require_staff)], responses=problems.responses(401, 403))
        problems.install(app)
        return app


_OPEN = "_platform_kit_open_to_all"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def open_to_all(router: APIRouter) -> APIRouter:
    """Mark a router that needs no token (a page's HTML and scripts: they hold no data, and the
    page must load before its user can sign in). Everything else a service serves is closed."""
    setattr(router, _OPEN, True)
    return router


def require_staff(request: Request, principal: Principal = Depends(require_principal)) -> Principal:
    """The guard on every service route: a staff token (district, town, village, auditor).
    A department's system exchanges facts on its Kafka topics, so over HTTP it is refused (403);
    an auditor reads and changes nothing, so its writes are refused too. Unit scopes are the
    routes' own business (``require_unit_scope``, ``ensure_unit_scope``)."""
    if principal.role == "department":
        raise HTTPException(403, detail="a department's system sends its facts on its ingest topic; these routes are for staff")
    if principal.role == "auditor" and request.method not in SAFE_METHODS:
        raise HTTPException(403, detail="an auditor reads; it changes nothing")
    return principal


def runtime_of(request: Request) -> ServiceRuntime:
    """The running service behind a request (a FastAPI dependency)."""
    return request.app.state.runtime


def _rebuild_router() -> APIRouter:
    router = APIRouter(prefix="/api/admin", tags=["operations"])

    @router.post(
        "/rebuild", status_code=202, responses=problems.responses(401, 403, 503),
        summary="Empty the read models and read every event again from the beginning",
    )
    async def rebuild(
        request: Request, _caller: Principal = Depends(require_district_action("rebuild"))
    ) -> dict[str, list[str]]:
        runtime = runtime_of(request)
        if not runtime.runners:
            raise problems.Refusal("service", "the projections are not running yet", kind="unavailable")
        for runner in runtime.runners:
            runner.request_rebuild()
        return {"rebuilding": [runner.name for runner in runtime.runners]}

    return router


@contextlib.contextmanager
def _logged(part: str):
    try:
        yield
    except Exception as error:
        log.error("service.stop_failed", part=part, error=f"{type(error).__name__}: {error}"[:300])


def serve(app: FastAPI, settings: KitSettings) -> None:
    """``python -m <service>``: the app over HTTP, logging through the kit (personal data masked)."""
    import uvicorn

    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    uvicorn.run(
        app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False,
        timeout_keep_alive=settings.http_keep_alive_seconds,
    )
