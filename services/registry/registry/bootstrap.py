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
from platform_kit.topics import TASK_DEPARTMENTS, Topics
from platform_kit.units import unit_tree

from registry.adapters.read_model import ReadModel
from registry.adapters.task_closer import TaskCloser
from registry.adapters.vault import DDL as VAULT_DDL
from registry.adapters.vault import KeyVault
from registry.entrypoints import ingest, reconciliation, residents, tasks, units, verification
from registry.entrypoints.dependencies import REGISTRY
from registry.service_layer.handlers import Registry
from registry.service_layer.tasks import DepartmentTasks
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

    topics = Topics(settings.topic_namespace)
    # Closes department tasks as the facts that answer them arrive (docs/department-tasks.md).
    closer = TaskCloser(
        settings.database_schema, [topics.registry_events, topics.services_events], lambda: extra[tasks.TASKS]
    )
    declaration = ServiceDeclaration(
        name="registry", title="Registry — 市中区流动人口", description=DESCRIPTION, package="registry",
        publishes_to=lambda topics: topics.registry_events,
        routers=(units.router, residents.router, verification.router, reconciliation.router, tasks.router),
        projections=[closer],
        also_publishes=lambda t: {
            t.tasks(d): (
                ("DepartmentTaskIssued", "DepartmentTaskClosed"),
                f"What the district asks of {d} (docs/department-tasks.md), for it alone to read: each task issued, "
                "then closed once the fact that answers it is recorded. The person's identity is sealed with the "
                "department's own key. Key = stream_id (task-<task_id>); deduplicate on event_id.",
            )
            for d in TASK_DEPARTMENTS
        },
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
    vault = KeyVault(pool, schema, s.identity_secret.get_secret_value().encode())
    runtime.declaration.extra[tasks.TASKS] = DepartmentTasks(
        store=runtime.store, vault=vault, schema=schema, clock=runtime.clock,
        secret=s.task_secret.get_secret_value().encode(), due_days=s.task_due_days,
        permit_notice_days=s.permit_notice_days,
    )
    runtime.declaration.extra[REGISTRY] = Registry(
        store=runtime.store, vault=vault,
        read_model=read_model, units=unit_tree(), clock=runtime.clock,
        birth_match_days=s.birth_match_days, hospital_birth_grace_days=s.hospital_birth_grace_days,
    )


def loops(runtime: ServiceRuntime) -> dict[str, Loop]:
    s: Settings = runtime.settings  # type: ignore[assignment]
    extra = runtime.declaration.extra  # type: ignore[union-attr]
    registry: Registry = extra[REGISTRY]
    department_tasks: DepartmentTasks = extra[tasks.TASKS]
    found: dict[str, Loop] = {}

    async def dispatch_tasks(stop: asyncio.Event) -> None:
        """The task outbox to tasks.<department>; a failure is retried by the runtime."""
        assert runtime.producer is not None
        await department_tasks.dispatch(
            stop, runtime.producer, runtime.topics, s.kafka_bootstrap_servers, s.task_dispatch_poll_seconds
        )

    found["task-dispatch"] = dispatch_tasks
    if s.task_sweep_interval_seconds > 0:
        found["task-sweep"] = _every(s.task_sweep_interval_seconds, department_tasks.sweep)
    if s.reconciliation_interval_seconds > 0:
        # 漏报出生, found by itself every interval.
        found["reconciliation"] = _every(s.reconciliation_interval_seconds, registry.reconcile_hospital_births)
    return found


def _every(interval: float, work) -> Loop:
    async def run(stop: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
                return
            await work()

    return run
