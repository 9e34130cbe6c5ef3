"""Dates on business time: quarters, and when a step falls due, on the district's calendar
(:mod:`platform_kit.calendar`: its time zone and its dates).

Due dates are dates (a plan is due *by* 15 January). A step ``n`` days from the due date is
sent at the opening of the office on that day; a due date has passed at midnight after it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from platform_kit.calendar import DISTRICT_TZ


def quarter(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_text(day: date) -> str:
    return f"{day.year}年第{(day.month - 1) // 3 + 1}季度"


def first_day_of_quarter(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def next_quarter_start(day: date) -> date:
    first = first_day_of_quarter(day)
    return date(first.year + 1, 1, 1) if first.month == 10 else date(first.year, first.month + 3, 1)


def end_of_quarter(day: date) -> date:
    return next_quarter_start(day) - timedelta(days=1)


def passed_at(due: date) -> datetime:
    """The moment a due date has passed: midnight after it, in the district."""
    return datetime.combine(due + timedelta(days=1), time(0), tzinfo=DISTRICT_TZ)


def step_time(due: date, days: int, opens: time) -> datetime:
    return datetime.combine(due + timedelta(days=days), opens, tzinfo=DISTRICT_TZ)


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
