"""The short form of the fault suite: every fault kind once, at seeded random moments, over a few
hundred commands; afterwards nothing accepted is lost, nothing doubled, nothing stuck (see
bad_day.py for what each word counts). `make soak` is the long form."""

from __future__ import annotations

import pytest
from bad_day import BadDay, Config
from soak import report

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]


async def test_a_bad_day_loses_nothing_doubles_nothing_leaves_nothing_stuck(tmp_path):
    result = await BadDay(Config(workdir=tmp_path, seed=20130610, events=1200, workers=4, fault_gap=(2.0, 6.0))).run()
    report(result)
    assert len(result.faults) == 8, result.faults
    assert (result.lost, result.doubled, result.stuck) == (0, 0, 0), result.line() + "\n" + "\n".join(result.details)
