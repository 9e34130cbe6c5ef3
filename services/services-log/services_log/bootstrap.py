"""The one place that wires the services log: its runtime (store, relay, the registry view),
its department subscribers, its HTTP API."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from platform_kit.contract import catalogue
from platform_kit.runtime import ServiceRuntime
from platform_kit.topics import Topics
from services_log import __version__
from services_log.adapters import records
from services_log.adapters.registry_view import RegistryView
from services_log.entrypoints.http import http_router, install_problem_answers
from services_log.entrypoints.ingest import subscribe_departments
from services_log.entrypoints.published import describe_services_events
from services_log.service_layer.recorder import Recorder
from services_log.settings import ServicesLogSettings

DESCRIPTION = """\
What was delivered to migrants in 市中区: services (including the six ones and certificate
handling), awareness surveys, trainings and association activities. Staff record them here;
hospitals (ingest.health) and human resources (ingest.hr) send theirs as events. Every refusal
is a Problem naming each field and why. See docs/services-log.md."""


@dataclass(frozen=True)
class ServicesLog:
    settings: ServicesLogSettings
    runtime: ServiceRuntime
    broker: KafkaBroker
    recorder: Recorder
    registry_view: RegistryView
    app: FastAPI


def _answers(broker: KafkaBroker):
    async def check() -> None:
        if not await broker.ping(timeout=1.5):
            raise RuntimeError("the department subscribers' broker does not answer")

    return check


def bootstrap(settings: ServicesLogSettings | None = None) -> ServicesLog:
    settings = settings or ServicesLogSettings()
    topics = Topics(settings.topic_namespace)
    schema = settings.services_log_schema
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-ingest",
        enable_idempotence=True,
        # Through the standard module, whose handler masks personal data; per-message lines at DEBUG.
        logger=logging.getLogger("services_log.broker"),
        log_level=logging.DEBUG,
        description="Department facts in, rejections out; services.events is published by the outbox relay.",
    )
    registry_view = RegistryView(schema, topics.registry_events, extra_ddl=records.DDL)
    runtime = ServiceRuntime(
        settings,
        schema=schema,
        publishes_to=topics.services_events,
        projections=[registry_view],
        catalogue=catalogue,
        broker=broker,
    )
    recorder = Recorder(runtime, clock=runtime.clock)
    registry_view.on_residents_known = recorder.resolve_awaiting
    subscribe_departments(broker, recorder, settings)
    runtime.health.add("ingest", _answers(broker))
    describe_services_events(broker, topics.services_events)
    app = runtime.http_app(
        title="services-log", version=__version__, description=DESCRIPTION, routers=[http_router(recorder)]
    )
    install_problem_answers(app)
    return ServicesLog(settings, runtime, broker, recorder, registry_view, app)
