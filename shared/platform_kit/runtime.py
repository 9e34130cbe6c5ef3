"""One service process, wired the same way in all four services.

A service declares what it owns (its schema, its topic, its projections, its HTTP routers,
its FastStream broker for ingest) and the runtime does the rest: logging, the database pool,
the event store's tables, the topics, the outbox relay, the projection runners, health and
readiness, and an orderly start and stop. Background loops are supervised: one that fails
on the database or the broker is restarted with back-off, and readiness says so meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI

from platform_kit.catalogue import EventCatalogue
from platform_kit.database import create_pool
from platform_kit.event_store import EventStore
from platform_kit.health import HealthChecks, flag_check, health_router, kafka_check, postgres_check
from platform_kit.kafka import ensure_topics, idempotent_producer
from platform_kit.logs import configure_logging, get_logger
from platform_kit.outbox_relay import OutboxRelay
from platform_kit.projection import Projection, ProjectionRunner
from platform_kit.settings import KitSettings
from platform_kit.topics import Topics

log = get_logger(__name__)

Loop = Callable[[asyncio.Event], Awaitable[None]]


class ServiceRuntime:
    def __init__(
        self,
        settings: KitSettings,
        *,
        schema: str,
        publishes_to: str | None = None,
        projections: Sequence[Projection] = (),
        catalogue: EventCatalogue | None = None,
        broker: Any | None = None,
    ) -> None:
        """``publishes_to`` is the topic the service's event store is relayed to (None for a
        service without a store); ``broker`` a FastStream broker started and stopped with it."""
        self.settings = settings
        self.schema = schema
        self.topics = Topics(settings.topic_namespace)
        self.publishes_to = publishes_to
        self.projections = list(projections)
        self.catalogue = catalogue
        self.broker = broker
        self.clock = settings.clock()
        self.health = HealthChecks()
        self.pool: asyncpg.Pool | None = None
        self.producer: AIOKafkaProducer | None = None
        self.store: EventStore | None = None
        self.relay: OutboxRelay | None = None
        self.runners: list[ProjectionRunner] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._healthy: dict[str, bool] = {}

    async def start(self) -> None:
        s = self.settings
        configure_logging(s.service_name, s.log_level, s.log_format)
        self._stop.clear()
        self.pool = await create_pool(s.database_url, max_size=s.database_pool_size)
        self.producer = idempotent_producer(s.kafka_bootstrap_servers, client_id=s.service_name)
        await self.producer.start()
        await ensure_topics(
            s.kafka_bootstrap_servers,
            self.topics.public,
            partitions=s.topic_partitions,
            replication_factor=s.topic_replication_factor,
        )
        self.health.add("postgres", postgres_check(self.pool))
        self.health.add("kafka", kafka_check(self.producer))
        if self.publishes_to is not None:
            self.store = EventStore(self.pool, self.schema)
            await self.store.setup()
            self.relay = OutboxRelay(
                database_url=s.database_url,
                schema=self.schema,
                topic=self.publishes_to,
                producer=self.producer,
                batch_size=s.relay_batch_size,
                idle_poll_seconds=s.relay_idle_poll_seconds,
            )
            self.supervise("relay", self.relay.run)
        for projection in self.projections:
            runner = ProjectionRunner(
                projection,
                pool=self.pool,
                schema=self.schema,
                bootstrap_servers=s.kafka_bootstrap_servers,
                producer=self.producer,
                catalogue=self.catalogue,
                batch_size=s.projection_batch_size,
            )
            await runner.setup()
            self.runners.append(runner)
            self.supervise(f"projection:{projection.name}", runner.run)
        if self.broker is not None:
            await self.broker.start()
        log.info("service.started", schema=self.schema, projections=[p.name for p in self.projections])

    async def stop(self) -> None:
        self._stop.set()
        if self.broker is not None:
            await self.broker.stop()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=15)
        self._tasks.clear()
        self.runners.clear()
        if self.producer is not None:
            await self.producer.stop()
        if self.pool is not None:
            await self.pool.close()
        log.info("service.stopped", schema=self.schema)

    def supervise(self, name: str, loop: Loop) -> None:
        """Run a background loop until the service stops, restarting it with back-off when it
        fails; readiness reports it meanwhile. For the relay, the projections and a service's
        own loops (a scheduler, delivery workers), started once the runtime has started."""
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
                log.error("service.loop_failed", loop=name, error=f"{type(error).__name__}: {error}", retry_in=delay)
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

    def http_app(self, *, title: str, version: str, description: str, routers: Sequence[APIRouter]) -> FastAPI:
        """The service's HTTP API (documented by OpenAPI at /openapi.json), with /health/*."""
        app = FastAPI(title=title, version=version, description=description, lifespan=self.lifespan)
        app.include_router(health_router(self.health))
        for router in routers:
            app.include_router(router)
        app.state.runtime = self
        return app
