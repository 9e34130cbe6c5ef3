"""The assessment service, declared to the kit: its schema and topic, its projection (registry
and services-log events in, the live coverage view out), its routes, and its own two loops
(the change feed that wakes the scoreboard's readers, the announcer of coverage changes, the
schedule that announces rankings)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

import platform_kit.contract
from assessment.entrypoints import decisions, export, network, page, reads, stream
from assessment.entrypoints.projection import CoverageProjection
from assessment.service_layer.services import Services
from assessment.settings import AssessmentSettings, load_rules
from platform_kit.runtime import ServiceDeclaration, ServiceRuntime
from platform_kit.topics import Topics
from platform_kit.units import unit_tree

Settings = AssessmentSettings
DESCRIPTION = (
    "Coverage of the annual assessment's indicators (年度目标责任制考核) per unit and period, the scoreboard, "
    "and history on two clocks: `as_of` (what had occurred) and `known_at` (what had been recorded). "
    "Formulas and worked examples: docs/assessment.md."
)


@dataclass
class Assessment:
    settings: AssessmentSettings
    runtime: ServiceRuntime
    projection: CoverageProjection
    services: Services
    app: FastAPI


def build(settings: AssessmentSettings | None = None) -> Assessment:
    settings = settings or AssessmentSettings()
    rules, tree, clock = load_rules(settings.rules_file), unit_tree(), settings.clock()
    topics = Topics(settings.topic_namespace)
    projection = CoverageProjection(
        schema=settings.database_schema, topics=[topics.registry_events, topics.services_events], rules=rules,
        tree=tree, catalogue=platform_kit.contract.catalogue, clock=clock,
    )
    declaration = ServiceDeclaration(
        name="assessment", title="Assessment (考核)", description=DESCRIPTION, package="assessment",
        publishes_to=lambda topics: topics.assessment_events, projections=[projection],
        routers=[reads.router, stream.router, export.router, decisions.router, network.router, page.router],
        setup=_setup, loops=_loops,
    )
    runtime = ServiceRuntime(settings, declaration, clock=clock)
    services = declaration.extra["services"] = Services.over(runtime, settings, rules, tree)
    return Assessment(settings, runtime, projection, services, runtime.http_app())


async def _setup(runtime: ServiceRuntime) -> None:
    assert runtime.pool is not None
    services = _services(runtime)
    await services.announcer.setup(runtime.pool)  # the table of what was announced
    await services.live.setup(runtime.pool)
    await services.live.refresh()  # the years held live, before the first request is served


def _loops(runtime: ServiceRuntime) -> dict:
    services = _services(runtime)
    loops = {"change-feed": services.feed.run, "announcer": services.announcer.run, "live-years": services.live.run}
    if runtime.settings.ranking_schedule:
        loops["ranking-schedule"] = services.schedule.run
    return loops


def _services(runtime: ServiceRuntime) -> Services:
    assert runtime.declaration is not None
    return runtime.declaration.extra["services"]
