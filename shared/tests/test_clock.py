"""The system clock, real or replaying a past year for a demonstration."""

from datetime import UTC, datetime, timedelta

import pytest

from platform_kit.clock import Clock
from platform_kit.settings import KitSettings


def test_unset_it_is_the_machines_clock():
    before = datetime.now(UTC)
    assert before <= Clock().now() <= datetime.now(UTC)


def test_a_replay_runs_fast_then_at_the_normal_pace():
    started_at = datetime.now(UTC) - timedelta(seconds=10)
    start = datetime(2013, 1, 1, tzinfo=UTC)
    fast = Clock(start=start, started_at=started_at, speed=3600, fast_until=start + timedelta(hours=5))
    # 5 simulated hours took 5 real seconds; the other 5 real seconds count as 5 seconds.
    assert fast.now() - (start + timedelta(hours=5)) == pytest.approx(timedelta(seconds=5), abs=timedelta(seconds=1))
    endless = Clock(start=start, started_at=started_at, speed=3600)
    assert endless.now() - start == pytest.approx(timedelta(hours=10), abs=timedelta(minutes=30))


def test_settings_from_the_environment_make_the_clock(monkeypatch):
    monkeypatch.setenv("CLOCK_START", "2013-01-01T00:00:00+08:00")
    monkeypatch.setenv("CLOCK_STARTED_AT", datetime.now(UTC).isoformat())
    monkeypatch.setenv("CLOCK_SPEED", "100000")
    clock = KitSettings().clock()
    assert clock.simulated and clock.now().year == 2013


def test_half_a_replay_setting_is_refused():
    with pytest.raises(ValueError, match="start and started_at go together"):
        Clock(start=datetime(2013, 1, 1, tzinfo=UTC))
