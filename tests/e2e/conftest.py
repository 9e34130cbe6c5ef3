"""One district of four running services for the whole e2e module, replaying June 2013.

The clock replays 2013 because the assessment keeps its live, incrementally updated view only
for its assessment years (2013 by default): that view is what the scoreboard serves, so the
figures asserted here come from the path production reads, not from an on-demand recount.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

# tests/service_processes.py is loaded by path: tests/ is not a package, and which test
# folder pytest puts on sys.path first depends on the order it collects them.
_spec = importlib.util.spec_from_file_location("district_harness", Path(__file__).resolve().parents[1] / "service_processes.py")
harness = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = harness  # dataclasses look their module up there
_spec.loader.exec_module(harness)

# "Now" for every service while the module runs: a weekday morning in June 2013.
REPLAY_START = "2013-06-10T10:00:00+08:00"


@pytest.fixture(scope="module")
def district(stack, tmp_path_factory):
    yield from harness.running_district(
        stack.bootstrap_servers,
        stack.database_url,
        tmp_path_factory.mktemp("district"),
        clock_start=REPLAY_START,
        clock_started_at=datetime.now(UTC).isoformat(),
    )
