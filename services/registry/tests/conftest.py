"""The registry's tests: ``unit/`` needs nothing running; ``integration/`` runs a whole
registry process on the real broker and database. Both build people with ``registry_builders``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from platform_kit.clock import SettableClock

sys.path.insert(0, str(Path(__file__).parent))  # registry_builders, for the tests

from registry_builders import NOW  # noqa: E402


@pytest.fixture
def clock() -> SettableClock:
    """The district's clock, in the test's hand: 1 December 2013, 10:00."""
    return SettableClock(NOW)
