"""The services log, declared once to the kit's skeleton: its store and topic, its view of the
registry, its HTTP routers, its translation of department facts, and the setup that attaches
its unit of work to the running runtime."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from platform_kit.clock import Clock
from platform_kit.runtime import ServiceDeclaration, ServiceRuntime
from platform_kit.topics import Topics
from services_log.adapters.registry_view import RegistryView
from services_log.entrypoints.http import records_router, residents_router
from services_log.entrypoints.ingest import accepting
from services_log.entrypoints.network import network_router
from services_log.service_layer.recorder import Recorder
from services_log.settings import ServicesLogSettings as Settings

DESCRIPTION = """\
What was delivered to migrants in 市中区: services (including the six ones and certificate
handling), awareness surveys, trainings and association activities. Staff record them here;
hospitals (ingest.health) and human resources (ingest.hr) send theirs as events. Every refusal
is a problem (RFC 9457) naming each field and why. See docs/services-log.md."""


@dataclass(frozen=True)
class ServicesLog:
    settings: Settings
    runtime: ServiceRuntime
    recorder: Recorder
    registry_view: RegistryView
    app: FastAPI


def build(settings: Settings | None = None, *, clock: Clock | None = None) -> ServicesLog:
    settings = settings or Settings()
    schema = settings.database_schema
    recorder = Recorder(schema)
    registry_view = RegistryView(
        schema, Topics(settings.topic_namespace).registry_events, on_residents_known=recorder.resolve_awaiting
    )
    declaration = ServiceDeclaration(
        name="services-log",
        title="services-log",
        description=DESCRIPTION,
        package="services-log",
        publishes_to=lambda topics: topics.services_events,
        projections=[registry_view],
        routers=[records_router, residents_router, network_router],
        accept=accepting(recorder),
        setup=recorder.attach,
        extra={"recorder": recorder},
    )
    runtime = ServiceRuntime(settings, declaration, clock=clock)
    return ServicesLog(settings, runtime, recorder, registry_view, runtime.http_app())
