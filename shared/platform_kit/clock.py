"""The system's clock: what ``recorded_at`` says, and what "now" means to reminders and views.

In production it is the machine's UTC clock. A demonstration can replay a past year at a
chosen speed: every service then reads the same simulated clock (``CLOCK_START`` is the
simulated time at the real instant ``CLOCK_STARTED_AT``, running ``CLOCK_SPEED`` times faster
until ``CLOCK_FAST_UNTIL``, then at normal speed), so what the system "knew at 31 December
2013" is as real as the events the demonstration drives through the services' own APIs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(
        self,
        *,
        start: datetime | None = None,
        started_at: datetime | None = None,
        speed: float = 1.0,
        fast_until: datetime | None = None,
    ) -> None:
        if (start is None) != (started_at is None):
            raise ValueError("clock: start and started_at go together")
        self.start, self.started_at, self.speed, self.fast_until = start, started_at, speed, fast_until

    @property
    def simulated(self) -> bool:
        return self.start is not None

    def now(self) -> datetime:
        real = datetime.now(UTC)
        if self.start is None or self.started_at is None:
            return real
        simulated = self.start + (real - self.started_at) * self.speed
        if self.fast_until is None or simulated <= self.fast_until:
            return simulated
        # Past the fast stretch, simulated time runs at the normal pace from where it got to.
        reached_at = self.started_at + (self.fast_until - self.start) / self.speed
        return self.fast_until + (real - reached_at)

    def __call__(self) -> datetime:
        return self.now()


SYSTEM_CLOCK = Clock()


class SettableClock(Clock):
    """A clock that stands still until told to move: tests move a deadline past by setting it."""

    def __init__(self, now: datetime) -> None:
        super().__init__()
        if now.tzinfo is None:
            raise ValueError("now: a clock needs an aware datetime")
        self._now = now

    @property
    def simulated(self) -> bool:
        return True

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = now

    def advance(self, by: timedelta) -> None:
        self._now += by
