"""The notifier's sense of "now": the wall clock in service, a settable one in tests.

Reminders and escalations fall due on business time (dates derived from ``occurred_at``);
the scheduler compares them with ``clock.now()``, so a test can move a deadline past by
setting the clock instead of waiting for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from platform_kit.envelope import utc_now


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return utc_now()


class SettableClock:
    """A clock that stands still until told to move."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("now: a clock needs an aware datetime")
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = now

    def advance(self, by: timedelta) -> None:
        self._now += by
