"""Where a resident lived at a given time, as the registry has told us, and what that means
for a unit that served them (属地化管理: the place of residence serves them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from platform_kit.contract.services_log import ResolvedResidence
from platform_kit.units import unit_tree


@dataclass(frozen=True, slots=True)
class ResidenceChange:
    occurred_at: datetime
    unit_code: str | None  # None: the resident left the district


@dataclass(frozen=True, slots=True)
class ResidentFacts:
    """A resident the registry has told us about: registered, moved or departed at least once."""

    resident_id: uuid.UUID
    changes: tuple[ResidenceChange, ...]  # in the order they happened
    sex: str | None = None
    birth_date: date | None = None

    def whereabouts_at(self, at: datetime) -> ResidenceChange:
        """The change in force at ``at``. A service before the first registration is placed in
        the unit of that registration: staff often serve someone first and register them after."""
        in_force = self.changes[0]
        for change in self.changes:
            if change.occurred_at > at:
                break
            in_force = change
        return in_force


@dataclass(frozen=True, slots=True)
class Placement:
    residence: ResolvedResidence
    resident_unit: str | None
    departed_on: datetime | None = None


def covers(serving_unit: str, resident_unit: str) -> bool:
    """A unit covers its own residents and those of every unit below it (a town office, or the
    district, serving a resident of one of its villages is not a cross-unit service)."""
    if serving_unit == resident_unit:
        return True
    tree = unit_tree()
    return resident_unit in tree and any(unit.code == serving_unit for unit in tree.ancestors(resident_unit))


def place(resident: ResidentFacts, serving_unit: str, at: datetime) -> Placement:
    whereabouts = resident.whereabouts_at(at)
    if whereabouts.unit_code is None:
        return Placement("departed", None, departed_on=whereabouts.occurred_at)
    residence = "lives_here" if covers(serving_unit, whereabouts.unit_code) else "lives_elsewhere"
    return Placement(residence, whereabouts.unit_code)
