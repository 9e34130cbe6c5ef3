"""The one place the assessment service is wired: its rules, its projection, the kit's
runtime (store, relay, runner, health), the read side, the commands, and the HTTP app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import FastAPI

import platform_kit.contract
from assessment.announcer import Announcer
from assessment.changes import ChangeFeed
from assessment.commands import Commands
from assessment.config import Rules, load_rules
from assessment.entrypoints.admin import admin_router
from assessment.entrypoints.cache import ScoreboardCache
from assessment.entrypoints.export import export_router
from assessment.entrypoints.http import api_router
from assessment.entrypoints.page import page_router
from assessment.entrypoints.stream import stream_router
from assessment.projection import CoverageProjection, view_channel
from assessment.queries import Reads
from assessment.scoreboard import Scoreboards
from assessment.settings import AssessmentSettings
from platform_kit.runtime import ServiceRuntime
from platform_kit.topics import Topics
from platform_kit.units import unit_tree

DESCRIPTION = (
    "Coverage of the annual assessment's indicators (年度目标责任制考核) per unit and period, the scoreboard, "
    "and history on two clocks: `as_of` (what had occurred) and `known_at` (what had been recorded). "
    "Formulas and worked examples: docs/assessment.md."
)
VERSION = "1.0.0"


@dataclass
class Assessment:
    settings: AssessmentSettings
    rules: Rules
    runtime: ServiceRuntime
    projection: CoverageProjection
    reads: Reads
    scoreboards: Scoreboards
    commands: Commands
    feed: ChangeFeed
    announcer: Announcer
    app: FastAPI


def bootstrap(settings: AssessmentSettings | None = None) -> Assessment:
    settings = settings or AssessmentSettings()
    schema = settings.schema_name
    clock = settings.clock()  # the machine's, or the demo's replay of a past year
    rules = load_rules(settings.rules_file)
    tree = unit_tree()
    topics = Topics(settings.topic_namespace)
    projection = CoverageProjection(
        schema=schema, topics=[topics.registry_events, topics.services_events], rules=rules, tree=tree,
        catalogue=platform_kit.contract.catalogue, clock=clock,
    )
    runtime = ServiceRuntime(
        settings, schema=schema, publishes_to=topics.assessment_events, projections=[projection],
        catalogue=platform_kit.contract.catalogue,
    )
    reads = Reads(lambda: runtime.pool, schema, rules, tree, clock)
    scoreboards = Scoreboards(reads)
    commands = Commands(lambda: runtime.store, scoreboards, clock)
    feed = ChangeFeed(settings.database_url, [view_channel(schema), f"{schema}_events"])
    announcer = Announcer(schema, rules, lambda: runtime.store, settings.announce_interval_seconds, clock)
    boards = ScoreboardCache(scoreboards, feed)
    app = runtime.http_app(
        title="Assessment (考核)", version=VERSION, description=DESCRIPTION,
        routers=[
            api_router(reads, commands, boards, feed), stream_router(boards, feed, settings.stream_heartbeat_seconds),
            export_router(scoreboards), admin_router(runtime), page_router(),
        ],
    )
    app.router.lifespan_context = _also_running(app.router.lifespan_context, runtime, feed, announcer)
    return Assessment(settings, rules, runtime, projection, reads, scoreboards, commands, feed, announcer, app)


def _also_running(runtime_lifespan, runtime: ServiceRuntime, feed: ChangeFeed, announcer: Announcer):
    """The runtime's lifespan, with the change feed and the announcer among its supervised loops."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime_lifespan(app):
            assert runtime.pool is not None
            await announcer.setup(runtime.pool)
            runtime.supervise("change-feed", feed.run)
            runtime.supervise("announcer", announcer.run)
            yield

    return lifespan
