"""The registry, declared to the kit's skeleton: its store and topic, its HTTP routers, its
translation of department facts, its own tables and service layer (``setup``) and the periodic
hospital-birth reconciliation (``loops``). Tests call the same ``build`` with their settings
and clock."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from fastapi import FastAPI

from platform_kit.auth import RateLimit
from platform_kit.clock import Clock
from platform_kit.database import apply_ddl
from platform_kit.gate import DepartmentFact
from platform_kit.runtime import Loop, ServiceDeclaration, ServiceRuntime
from platform_kit.units import unit_tree

from registry.adapters.read_model import ReadModel
from registry.adapters.vault import DDL as VAULT_DDL
from registry.adapters.vault import KeyVault
from registry.entrypoints import ingest, reconciliation, residents, units, verification
from registry.entrypoints.dependencies import REGISTRY
from registry.service_layer.handlers import Registry
from registry.settings import RegistrySettings as Settings

DESCRIPTION = """Who lives where in 市中区: residents, moves, departures, marital status, pregnancy plans,
births, school enrolment and residence permits; the unit tree; exchanges with other places (协查);
reconciliation of births (清理清查). Name, ID number and phone are sealed per person and never
published in clear; erasing a person deletes their key. Every event goes to `registry.events`."""


@dataclass
class RegistryService:
    runtime: ServiceRuntime
    app: FastAPI

    @property
    def settings(self) -> Settings:
        return self.runtime.settings  # type: ignore[return-value]

    @property
    def registry(self) -> Registry:
        """The service layer, once started."""
        return self.runtime.declaration.extra[REGISTRY]  # type: ignore[union-attr]


def build(settings: Settings | None = None, *, clock: Clock | None = None) -> RegistryService:
    settings = settings or Settings()
    extra: dict = {}

    async def accept(fact: DepartmentFact) -> None:
        await ingest.accept(extra[REGISTRY], fact)

    declaration = ServiceDeclaration(
        name="registry", title="Registry — 市中区流动人口", description=DESCRIPTION, package="registry",
        publishes_to=lambda topics: topics.registry_events,
        routers=(units.router, residents.router, verification.router, reconciliation.router),
        accept=accept, setup=setup, loops=loops, extra=extra,
    )
    runtime = ServiceRuntime(settings, declaration, clock=clock)
    app = runtime.http_app()
    app.state.id_lookups = RateLimit(per_minute=settings.id_lookups_per_minute)
    return RegistryService(runtime, app)


async def setup(runtime: ServiceRuntime) -> None:
    """The registry's own tables (key vault, read model) and its service layer."""
    s: Settings = runtime.settings  # type: ignore[assignment]
    assert runtime.store is not None and runtime.declaration is not None
    pool, schema = runtime.store.pool, runtime.schema
    await apply_ddl(pool, schema, VAULT_DDL)
    read_model = ReadModel(pool, schema)
    await read_model.setup()
    runtime.declaration.extra[REGISTRY] = Registry(
        store=runtime.store, vault=KeyVault(pool, schema, s.identity_secret.get_secret_value().encode()),
        read_model=read_model, units=unit_tree(), clock=runtime.clock,
        birth_match_days=s.birth_match_days, hospital_birth_grace_days=s.hospital_birth_grace_days,
    )


def loops(runtime: ServiceRuntime) -> dict[str, Loop]:
    interval = runtime.settings.reconciliation_interval_seconds  # type: ignore[attr-defined]
    if interval <= 0:
        return {}
    registry: Registry = runtime.declaration.extra[REGISTRY]  # type: ignore[union-attr]

    async def reconcile_hospital_births(stop: asyncio.Event) -> None:
        """漏报出生, found by itself every ``interval``; a failure is retried by the runtime."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
                return
            await registry.reconcile_hospital_births()

    return {"reconciliation": reconcile_hospital_births}
