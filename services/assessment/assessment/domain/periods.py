"""Assessment periods (the calendar year, its quarters, its months, in China Standard Time)
and the two clocks: ``as_of`` (what had occurred by then) and ``known_at`` (what the system
had recorded by then)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from platform_kit.calendar import DISTRICT_TZ
TICK = timedelta(microseconds=1)  # PostgreSQL's resolution: "at or before T" is "before T + 1µs"
# The grammar of a period, said once: the HTTP API's OpenAPI document states the same pattern.
PERIOD_PATTERN = r"^[0-9]{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"
_PERIOD = re.compile(r"^([0-9]{4})(?:-Q([1-4])|-(0[1-9]|1[0-2]))?$")
# Years the district's history can hold; outside them an instant has no UTC (year 1, year 9999).
FIRST_YEAR, LAST_YEAR = 1900, 2999


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """A calendar year, quarter or month: ``2013``, ``2013-Q2``, ``2013-05``."""

    year: int
    quarter: int = 0
    month: int = 0
    start: datetime = field(init=False, compare=False, repr=False)
    end: datetime = field(init=False, compare=False, repr=False)  # the first instant after the period
    _hash: int = field(init=False, compare=False, repr=False)
    _text: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        first = self.month or (3 * self.quarter - 2 if self.quarter else 1)
        after = first + (1 if self.month else 3 if self.quarter else 12)
        object.__setattr__(self, "start", datetime(self.year, first, 1, tzinfo=DISTRICT_TZ))
        object.__setattr__(self, "end", datetime(self.year + (after - 1) // 12, (after - 1) % 12 + 1, 1, tzinfo=DISTRICT_TZ))
        object.__setattr__(self, "_hash", hash((self.year, self.quarter, self.month)))
        text = f"{self.year}-{self.month:02d}" if self.month else f"{self.year}-Q{self.quarter}" if self.quarter else str(self.year)
        object.__setattr__(self, "_text", text)

    def __hash__(self) -> int:
        # Every cell of the view is keyed by its period: hashed once, not at every lookup
        # (the generated hash built a tuple each time, a tenth of a batch's time).
        return self._hash

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.fullmatch(text)
        if not match:
            raise ValueError(f"period: {text!r} is not a year (2013), a quarter (2013-Q2) or a month (2013-05)")
        year, quarter, month = match.groups()
        if not FIRST_YEAR <= int(year) <= LAST_YEAR:
            raise ValueError(f"period: the year must be between {FIRST_YEAR} and {LAST_YEAR}")
        return cls(int(year), int(quarter or 0), int(month or 0))

    def __str__(self) -> str:
        return self._text  # written once: every changed cell is stored and announced by it

    @property
    def kind(self) -> str:
        return "month" if self.month else "quarter" if self.quarter else "year"

    @property
    def first_month(self) -> int:
        return self.month or (3 * self.quarter - 2 if self.quarter else 1)

    @property
    def months(self) -> int:
        return 1 if self.month else 3 if self.quarter else 12

    def contains(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end

    def month_periods(self) -> list[Period]:
        return [Period(self.year, 0, m) for m in range(self.first_month, self.first_month + self.months)]


def periods_of_year(year: int) -> list[Period]:
    """The year, its four quarters and its twelve months."""
    return [Period(year), *(Period(year, q) for q in range(1, 5)), *(Period(year, 0, m) for m in range(1, 13))]


def live_years(configured: list[int], today: date, recent: int) -> frozenset[int]:
    """The years kept live on ``today``: the configured ones, this year and the ``recent - 1``
    before it."""
    return frozenset(configured) | {today.year - i for i in range(recent)}


def periods_of_years(years: Iterable[int]) -> list[Period]:
    return [period for year in sorted(years) for period in periods_of_year(year)]


def periods_containing(instant: datetime) -> list[Period]:
    local = instant.astimezone(DISTRICT_TZ)
    return [Period(local.year), Period(local.year, (local.month - 1) // 3 + 1), Period(local.year, 0, local.month)]


@dataclass(frozen=True, slots=True)
class Window:
    """The part of a period that is looked at: ``[start, end)``."""

    start: datetime
    end: datetime

    def __contains__(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True, slots=True)
class Clocks:
    """Which history a figure is computed from. ``None`` means "everything, now".

    ``as_of``: only what had occurred at or before it (business time). ``known_at``: only
    what had been recorded at or before it (system time).
    """

    as_of: datetime | None = None
    known_at: datetime | None = None

    @property
    def is_now(self) -> bool:
        return self.as_of is None and self.known_at is None

    def window(self, period: Period) -> Window | None:
        """The period as seen from ``as_of``: its start up to ``as_of``; None before it began."""
        end = period.end if self.as_of is None else min(period.end, self.as_of + TICK)
        return Window(period.start, end) if end > period.start else None

    def sees(self, occurred_at: datetime, recorded_at: datetime) -> bool:
        return (self.as_of is None or occurred_at <= self.as_of) and (
            self.known_at is None or recorded_at <= self.known_at
        )

    def as_json(self) -> dict[str, str | None]:
        return {
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "known_at": self.known_at.isoformat() if self.known_at else None,
        }


def parse_instant(text: str | None, *, field: str) -> datetime | None:
    """A date means the end of that day in China Standard Time; a datetime needs its offset
    (a naive one is read as China Standard Time)."""
    if text is None or text == "":
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            instant = datetime.combine(day + timedelta(days=1), time(), tzinfo=DISTRICT_TZ) - TICK
        else:
            instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise ValueError(f"{field}: {text!r} is neither a date (2013-12-31) nor a date and time with offset") from None
    if not FIRST_YEAR <= instant.year <= LAST_YEAR:
        raise ValueError(f"{field}: the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return instant if instant.tzinfo else instant.replace(tzinfo=DISTRICT_TZ)


def utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def previous(period: Period) -> Period:
    """The period of the same kind just before: last month, last quarter, last year."""
    if period.month:
        return Period(period.year - (period.month == 1), 0, 12 if period.month == 1 else period.month - 1)
    if period.quarter:
        return Period(period.year - (period.quarter == 1), 4 if period.quarter == 1 else period.quarter - 1)
    return Period(period.year - 1)
