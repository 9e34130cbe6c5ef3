"""Fixtures the kit's own integration tests share (the stack, pool and schema come from the
root conftest)."""

from __future__ import annotations

import pytest

from platform_kit.event_store import EventStore


@pytest.fixture
async def store(pool, schema):
    """An event store on the test's own schema, its tables made."""
    store = EventStore(pool, schema)
    await store.setup()
    return store
