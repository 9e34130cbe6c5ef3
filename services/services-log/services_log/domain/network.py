"""A year of the network, per unit: staff on the roster, trainings, association activities —
and the district's totals beside the figures the source document gives (line 11: 配备专职流动人口
服务管理员177人，协管员927人 ... 每年开展基层流动人口计生专干培训400余人次; line 19: 共成立流动人口
计生协会13个). Pure: the adapters hand it the year's facts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date

from platform_kit.units import UnitTree

DOCUMENT = {
    "managers": 177,
    "assistants": 927,
    "associations": 13,
    "training_person_times_at_least": 400,
    "source": "source document line 11 (177, 927, 400余人次) and line 19 (13个)",
}


@dataclass(frozen=True, slots=True)
class Assignment:
    staff_ref: str
    unit_code: str
    role: str
    assigned_on: date


@dataclass(frozen=True, slots=True)
class Removal:
    """StaffRemoved: off the roster from ``removed_on`` (the first day they are not on it)."""

    staff_ref: str
    removed_on: date


@dataclass(frozen=True, slots=True)
class Training:
    unit_code: str
    person_times: int
    trainee_refs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Activity:
    unit_code: str
    association_ref: str
    participants: int


@dataclass(slots=True)
class UnitFigures:
    unit_code: str
    name: str
    level: str
    managers: int = 0
    assistants: int = 0
    trainings: int = 0
    training_person_times: int = 0
    trained_staff: int = 0
    association_activities: int = 0
    association_participants: int = 0
    associations_active: int = 0
    _trained: set[str] = field(default_factory=set, repr=False)
    _associations: set[str] = field(default_factory=set, repr=False)

    def public(self) -> dict:
        figures = asdict(self)
        figures.pop("_trained"), figures.pop("_associations")
        return figures


def roster_at(assignments: Iterable[Assignment], day: date, removals: Iterable[Removal] = ()) -> dict[str, Assignment]:
    """Each staff member's assignment in force on ``day``: the latest that started by then,
    unless a removal dated after it and on or before ``day`` took them off the roster."""
    current: dict[str, Assignment] = {}
    for a in sorted(assignments, key=lambda a: a.assigned_on):
        if a.assigned_on <= day:
            current[a.staff_ref] = a
    for r in removals:
        a = current.get(r.staff_ref)
        if a is not None and a.assigned_on < r.removed_on <= day:
            del current[r.staff_ref]
    return current


def year_of_network(
    year: int, tree: UnitTree, assignments: Iterable[Assignment], trainings: Iterable[Training],
    activities: Iterable[Activity], removals: Iterable[Removal] = (), *, staff_on: date | None = None,
) -> dict[str, UnitFigures]:
    """Figures for every unit of the tree, each town and the district adding up what lies below
    them. Person-times are the staff trainings' (an hr training of migrants is not the network's).
    Staff are counted on ``staff_on`` (31 December by default), after any removals by then."""
    units = {code: UnitFigures(code, tree[code].name, tree[code].level) for code in _codes(tree)}

    def chain(code: str) -> list[UnitFigures]:
        return [units[code]] + [units[u.code] for u in tree.ancestors(code)]

    roster = roster_at(assignments, staff_on or date(year, 12, 31), removals)
    for a in roster.values():
        for unit in chain(a.unit_code):
            if a.role == "manager":
                unit.managers += 1
            else:
                unit.assistants += 1
    for t in trainings:
        for unit in chain(t.unit_code):
            unit.trainings += 1
            unit.training_person_times += t.person_times
            unit._trained.update(ref for ref in t.trainee_refs if ref in roster)
    for act in activities:
        for unit in chain(act.unit_code):
            unit.association_activities += 1
            unit.association_participants += act.participants
            unit._associations.add(act.association_ref)
    for unit in units.values():
        unit.trained_staff, unit.associations_active = len(unit._trained), len(unit._associations)
    return units


def _codes(tree: UnitTree) -> list[str]:
    codes = [tree.district.code]
    for town in tree.towns():
        codes += [town.code] + [v.code for v in tree.children(town.code)]
    return codes
