"""Fixtures of the registry's integration tests: a whole registry process on the real broker
and database, with its own schema, its own topic namespace and a clock the test moves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from registry_builders import MovableClock

from registry.bootstrap import RegistryService, build
from registry.settings import RegistrySettings


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


def registry_settings(stack, **overrides) -> RegistrySettings:
    values = {
        "kafka_bootstrap_servers": stack.bootstrap_servers,
        "database_url": stack.database_url,
        "topic_namespace": f"t{uuid.uuid4().hex[:8]}.",
        "relay_idle_poll_seconds": 0.05,
        "reconciliation_interval_seconds": 0,
        "identity_secret": "test-secret",
        "database_pool_size": 5,
    }
    values.update(overrides)
    return RegistrySettings(**values)


@pytest.fixture
async def registry_service(stack, schema, clock) -> AsyncIterator[RegistryService]:
    service = build(registry_settings(stack, database_schema=schema), clock=clock)
    await service.runtime.start()
    try:
        yield service
    finally:
        await service.runtime.stop()


@pytest.fixture
async def api(registry_service) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=registry_service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        yield client
