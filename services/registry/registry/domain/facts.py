"""What a decision returns: new facts, each for a stream, not yet numbered or stored."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from platform_kit.contract.common import Payload
from platform_kit.units import UnitTree
from platform_kit.problems import Refusal
from platform_kit.calendar import CLOCK_SKEW, DISTRICT_TZ, local_date



@dataclass(frozen=True, slots=True)
class Fact:
    stream_id: str
    payload: Payload
    occurred_at: datetime
    unit_code: str

    @property
    def event_type(self) -> str:
        return type(self.payload).__name__


@dataclass(frozen=True)
class Context:
    """What a decision may know beyond the history: the time, the unit tree, fresh ids."""

    now: datetime
    units: UnitTree
    new_id: Callable[[], uuid.UUID] = field(default=uuid.uuid4)
    birth_match_days: int = 3

    @property
    def today(self) -> date:
        return local_date(self.now)

    def when(self, occurred_at: datetime | None, *, not_before: datetime | None = None, what: str = "") -> datetime:
        """The business time of a fact: given, or now; never in the future."""
        moment = occurred_at or self.now
        if moment > self.now + CLOCK_SKEW:
            raise Refusal("occurred_at", f"{_local(moment)} is in the future (now is {_local(self.now)})")
        if not_before is not None and moment < not_before:
            raise Refusal("occurred_at", f"{_local(moment)} is before {what} ({_local(not_before)})")
        return moment

    def not_future(self, day: date, field_name: str) -> date:
        if day > self.today:
            raise Refusal(field_name, f"{day.isoformat()} is in the future (today is {self.today.isoformat()})")
        return day

    def village(self, code: str, field_name: str) -> str:
        """A unit where people live: a village or community of the district."""
        if code not in self.units:
            raise Refusal(field_name, f"{code} is not a unit of {self.units.district.name}")
        unit = self.units[code]
        if unit.level != "village":
            raise Refusal(field_name, f"{code} is {unit.name} (a {unit.kind}), not a village or community")
        return code

    def unit_name(self, code: str) -> str:
        return self.units[code].name if code in self.units else code


def _local(moment: datetime) -> str:
    return moment.astimezone(DISTRICT_TZ).isoformat(timespec="minutes")
