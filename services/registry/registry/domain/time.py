"""The district's clock: business dates are dates in China Standard Time (UTC+8)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone

DISTRICT_TZ = timezone(timedelta(hours=8), "CST")
# A department's or a browser's clock may run a little ahead of ours; more than this is the future.
CLOCK_SKEW = timedelta(minutes=5)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def local_date(moment: datetime) -> date:
    return moment.astimezone(DISTRICT_TZ).date()


def start_of(day: date) -> datetime:
    """The first moment of ``day`` in the district: the business time of a date-only fact."""
    return datetime.combine(day, time(0, 0), DISTRICT_TZ)


def age_on(birth_date: date, day: date) -> int:
    """Full years between ``birth_date`` and ``day``."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
