"""Fixtures for the assessment's tests against the real broker and database: the whole
service (runtime, projection, HTTP on a real port) in this test's own schema and topics."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from assessment.bootstrap import Assessment, build
from assessment.settings import AssessmentSettings
from platform_kit.envelope import Envelope
from platform_kit.testing import bearer, wait_until
from platform_kit.topics import Topics

sys.path.insert(0, str(Path(__file__).parent))  # the fixtures beside the tests: assessment_testing, _examples, ...


@dataclass
class RunningService:
    service: Assessment
    topics: Topics
    base_url: str
    http: httpx.AsyncClient
    producer: object
    published: int = 0

    async def publish(self, events: Sequence[Envelope]) -> None:
        """Publish as the registry and the services log would: their topics, key = stream."""
        sends = [
            await self.producer.send(
                self.topics.registry_events if e.source == "registry" else self.topics.services_events,
                value=e.to_bytes(), key=e.key,
            )
            for e in events
        ]
        await asyncio.gather(*sends)
        self.published += len(events)

    @property
    def runner(self):
        return self.service.runtime.runners[0]

    async def settled(self, *, dead_letters: int = 0) -> None:
        """Every event published so far has been applied (or dead-lettered) and committed."""
        stats = self.runner.stats

        async def caught_up() -> bool:
            return stats.applied + stats.dead_lettered + stats.duplicates >= self.published

        await wait_until(caught_up, timeout=90, interval=0.02, what=f"{self.published} events applied")
        assert stats.dead_lettered == dead_letters, "events were dead-lettered: see the log"

    async def get(self, path: str, **params) -> dict:
        response = await self.http.get(path, params={k: v for k, v in params.items() if v is not None})
        assert response.status_code == 200, response.text
        return response.json()


@contextlib.asynccontextmanager
async def serving(service: Assessment) -> AsyncIterator[str]:
    """The service on a free port of 127.0.0.1, lifespan and all, as ``python -m assessment`` runs it."""
    config = uvicorn.Config(service.app, host="127.0.0.1", port=0, log_config=None, lifespan="on",
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()
        return server.started

    await wait_until(started, timeout=60, what="the service answers")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def settings(stack, schema, namespace) -> AssessmentSettings:
    return AssessmentSettings(
        kafka_bootstrap_servers=stack.bootstrap_servers, database_url=stack.database_url, topic_namespace=namespace,
        database_schema=schema, relay_idle_poll_seconds=0.05, log_level="WARNING", stream_heartbeat_seconds=1.0,
        announce_interval_seconds=0.1,
        # The schedule would publish 2013's rankings in every test (the clock is past them);
        # the tests that are about it switch it on.
        ranking_schedule=False,
    )


@contextlib.asynccontextmanager
async def _serving(settings: AssessmentSettings, producer) -> AsyncIterator[RunningService]:
    service = build(settings)
    async with serving(service) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30, headers=bearer()) as http:
        yield RunningService(service, Topics(settings.topic_namespace), base_url, http, producer)


@pytest.fixture
def serve(producer):
    """Start (another) assessment service: ``async with serve(settings) as running: ...``."""
    return lambda settings: _serving(settings, producer)


@pytest.fixture
async def running(settings, serve) -> AsyncIterator[RunningService]:
    async with serve(settings) as service:
        yield service
