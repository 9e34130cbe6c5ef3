"""Each test gets a services log of its own: its own schema, its own topics, started and stopped."""

from __future__ import annotations

import pytest

from services_log_harness import Harness


@pytest.fixture
async def harness(stack, schema, namespace, producer):
    harness = Harness(stack, schema, namespace, producer)
    yield harness
    await harness.stop()


@pytest.fixture
async def services_log(harness):
    """The services log, running, with the staff these tests name on its roster (a service
    recorded by someone not on it is refused)."""
    await harness.start()
    await harness.put_on_roster("staff-0412", "staff-0413")
    return harness
