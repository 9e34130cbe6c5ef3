"""A whole registry process on the real broker and database, with its own schema, its own
topic namespace and the test's clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from platform_kit.testing import bearer
import pytest
from registry_builders import registry_settings

from registry.bootstrap import RegistryService, build


@pytest.fixture
def registry_settings_overrides() -> dict:
    """A test module may set more of the registry's settings."""
    return {}


@pytest.fixture
async def registry_service(stack, schema, namespace, clock, registry_settings_overrides) -> AsyncIterator[RegistryService]:
    service = build(registry_settings(stack, namespace, database_schema=schema, **registry_settings_overrides), clock=clock)
    await service.runtime.start()
    try:
        yield service
    finally:
        await service.runtime.stop()


@pytest.fixture
async def api(registry_service) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=registry_service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry", headers=bearer()) as client:
        yield client
