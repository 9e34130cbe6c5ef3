"""The one place that wires the registry: settings, clock, the kit's runtime, the key vault,
the read model, the service, the HTTP app and the department ingest. Tests call the same
``build`` with their own settings and clock."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import asyncpg
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from platform_kit.contract import catalogue
from platform_kit.database import apply_ddl
from platform_kit.logs import get_logger
from platform_kit.runtime import ServiceRuntime
from platform_kit.topics import Topics
from platform_kit.units import unit_tree

from registry.adapters.read_model import ReadModel
from registry.adapters.vault import DDL as VAULT_DDL
from registry.adapters.vault import KeyVault
from registry.domain.time import Clock
from registry.entrypoints.http import ROUTERS, install_error_handlers
from registry.entrypoints.ingest import DepartmentIngest, registry_broker
from registry.service import Registry
from registry.settings import RegistrySettings

log = get_logger(__name__)
VERSION = "1.0.0"
DESCRIPTION = """Who lives where in 市中区: residents, moves, departures, marital status, pregnancy plans,
births, school enrolment and residence permits; the unit tree; exchanges with other places (协查);
reconciliation of births (清理清查). Name, ID number and phone are sealed per person and never
published in clear; erasing a person deletes their key. Every event goes to `registry.events`."""


@dataclass
class RegistryService:
    """The registry as one process: ``app`` (uvicorn runs it; its lifespan starts everything)."""

    settings: RegistrySettings
    clock: Clock
    runtime: ServiceRuntime
    broker: KafkaBroker
    app: FastAPI
    parts: _OwnParts

    @property
    def registry(self) -> Registry:
        """The service layer, once started."""
        assert self.parts.registry is not None, "start the runtime first"
        return self.parts.registry


def build(settings: RegistrySettings | None = None, *, clock: Clock | None = None) -> RegistryService:
    settings = settings or RegistrySettings()
    clock = clock or settings.clock()  # the machine's, or the demo's replay of a past year
    schema = settings.database_schema
    topics = Topics(settings.topic_namespace)
    parts = _OwnParts(settings, clock, schema)
    broker = registry_broker(
        lambda: parts.ingest, settings.kafka_bootstrap_servers, topics, instance_id=settings.ingest_instance_id
    )
    parts.broker = broker
    runtime = ServiceRuntime(
        settings, schema=schema, publishes_to=topics.registry_events, projections=[], catalogue=catalogue, broker=parts
    )
    parts.runtime = runtime
    app = runtime.http_app(title="Registry — 市中区流动人口", version=VERSION, description=DESCRIPTION, routers=ROUTERS)
    install_error_handlers(app)
    parts.app = app
    return RegistryService(settings, clock, runtime, broker, app, parts)


@dataclass(eq=False)
class _OwnParts:
    """What the runtime starts after its pool and event store are ready, and stops first: the
    registry's own tables and service, the periodic reconciliation, then the FastStream ingest.

    It stands where the runtime expects the broker: the runtime has no hook between "the store
    is ready" and "the broker starts", and the ingest must not read before the tables exist."""

    settings: RegistrySettings
    clock: Clock
    schema: str
    broker: KafkaBroker | None = None
    runtime: ServiceRuntime | None = None
    app: FastAPI | None = None
    registry: Registry | None = None
    ingest: DepartmentIngest | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _loop: asyncio.Task[None] | None = None

    async def start(self) -> None:
        assert self.runtime is not None and self.runtime.store is not None and self.broker is not None
        store, s = self.runtime.store, self.settings
        await _apply(store.pool, self.schema)
        self.registry = Registry(
            store=store,
            vault=KeyVault(store.pool, self.schema, s.identity_secret.get_secret_value().encode()),
            read_model=ReadModel(store.pool, self.schema),
            units=unit_tree(),
            clock=self.clock,
            birth_match_days=s.birth_match_days,
            hospital_birth_grace_days=s.hospital_birth_grace_days,
        )
        self.ingest = DepartmentIngest(self.registry, self.clock, conflict_retries=s.ingest_conflict_retries)
        if self.app is not None:
            self.app.state.registry = self.registry
        self._stop.clear()
        if s.reconciliation_interval_seconds > 0:
            self._loop = asyncio.create_task(self._reconcile_periodically(s.reconciliation_interval_seconds))
        await self.broker.start()
        self.runtime.health.add("ingest", self._ingest_answers)

    async def _ingest_answers(self) -> None:
        assert self.broker is not None
        if not await self.broker.ping(timeout=1.5):
            raise RuntimeError("the ingest's Kafka connection does not answer")

    async def stop(self) -> None:
        self._stop.set()
        if self.broker is not None:
            await self.broker.stop()
        if self._loop is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None

    async def _reconcile_periodically(self, interval: float) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=interval)
                return
            try:
                assert self.registry is not None
                await self.registry.reconcile_hospital_births()
            except Exception as error:  # the next round tries again; readiness reports the database
                log.error("reconciliation.failed", error=f"{type(error).__name__}: {error}")


async def _apply(pool: asyncpg.Pool, schema: str) -> None:
    await apply_ddl(pool, schema, VAULT_DDL)
    await ReadModel(pool, schema).setup()
