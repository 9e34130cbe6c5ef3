"""The district's calendar: business dates are dates in China Standard Time (UTC+8).

A fact that has a date but no time (a birth date, a school year) happened at the first moment
of that date in the district; an age is counted in full years on a date. Every service reads
these from here, so "the 1st of September" and "15 years old" mean the same everywhere.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

DISTRICT_TZ = timezone(timedelta(hours=8), "CST")  # 中国标准时间
# A department's or a browser's clock may run a little ahead of ours; more than this is the future.
CLOCK_SKEW = timedelta(minutes=5)


def local_date(moment: datetime) -> date:
    """The district's date at ``moment``."""
    return moment.astimezone(DISTRICT_TZ).date()


def start_of(day: date) -> datetime:
    """The first moment of ``day`` in the district: the business time of a date-only fact."""
    return datetime.combine(day, time(0, 0), DISTRICT_TZ)


def age_on(born: date, day: date) -> int:
    """Full years between ``born`` and ``day`` (a person born on 29 February turns a year older
    on 1 March in other years)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
