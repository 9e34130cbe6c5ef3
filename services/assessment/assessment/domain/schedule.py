"""When rankings are announced (定期通报): the district lists the kinds of period it ranks and
how many days after a period ends its ranking goes out; ``due`` says which periods that makes
due at an instant. Pure: the caller brings the service clock's now."""

from __future__ import annotations

from datetime import datetime, timedelta

from assessment.domain.periods import Period, periods_containing, previous
from platform_kit.calendar import local_date


def latest_ended(kind: str, today_start: datetime) -> Period:
    """The last period of this kind that had ended by ``today_start``."""
    current = {p.kind: p for p in periods_containing(today_start)}[kind]
    return previous(current)


def due(kinds: list[str], after_days: int, now: datetime, years: list[int]) -> list[Period]:
    """The latest period of each kind whose announcement day has come, within the assessment
    years (a year outside them has no live figures to rank). Only the latest: a district
    starting the schedule mid-year does not announce its whole past at once."""
    announce_from = local_date(now) - timedelta(days=after_days)  # midnight of that day, district time:
    start = Period(announce_from.year, 0, announce_from.month).start.replace(day=announce_from.day)
    found = [latest_ended(kind, start) for kind in kinds]
    return [p for p in found if p.year in years]
