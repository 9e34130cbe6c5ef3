"""The unit tree 区—镇(街)—村(居): 市中区, its 11 towns and streets, their 162 villages and
communities. Reference data shipped with the kit (``reference/units.csv``); demo codes follow
the 12-digit statistical division code shape and are illustrative."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

# township: a 乡 (the document's 西王庄乡), a town-level unit like a 镇 or a 街道.
Kind = Literal["district", "street", "town", "township", "community", "village"]
TOWN_KINDS = frozenset({"street", "town", "township"})
VILLAGE_KINDS = frozenset({"community", "village"})


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name: str
    parent_code: str | None
    kind: Kind

    @property
    def level(self) -> Literal["district", "town", "village"]:
        if self.kind == "district":
            return "district"
        return "town" if self.kind in TOWN_KINDS else "village"


@dataclass(frozen=True, slots=True)
class Association:
    ref: str
    name: str
    host_unit_code: str
    host_kind: Literal["enterprise", "market", "community"]


class UnitTree:
    def __init__(self, units: list[Unit]) -> None:
        self._by_code = {unit.code: unit for unit in units}
        self._children: dict[str, list[Unit]] = {}
        for unit in units:
            if unit.parent_code:
                self._children.setdefault(unit.parent_code, []).append(unit)
        self.district = next(unit for unit in units if unit.kind == "district")

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __getitem__(self, code: str) -> Unit:
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(f"unit_code: {code!r} is not a unit of {self.district.name}") from None

    def children(self, code: str) -> list[Unit]:
        return list(self._children.get(code, []))

    def towns(self) -> list[Unit]:
        return self.children(self.district.code)

    def villages(self, town_code: str | None = None) -> list[Unit]:
        towns = [self[town_code]] if town_code else self.towns()
        return [village for town in towns for village in self.children(town.code)]

    def town_of(self, code: str) -> Unit:
        unit = self[code]
        if unit.level == "village":
            return self[unit.parent_code or ""]
        if unit.level == "town":
            return unit
        raise ValueError(f"unit_code: {code} is the district itself, not within a town")

    def ancestors(self, code: str) -> list[Unit]:
        """The unit's parent, grandparent... up to the district."""
        chain, unit = [], self[code]
        while unit.parent_code:
            unit = self[unit.parent_code]
            chain.append(unit)
        return chain


@cache
def unit_tree() -> UnitTree:
    text = resources.files("platform_kit.reference").joinpath("units.csv").read_text(encoding="utf-8")
    return UnitTree(
        [Unit(r["code"], r["name"], r["parent_code"] or None, r["kind"]) for r in csv.DictReader(text.splitlines())]  # type: ignore[arg-type]
    )


@cache
def associations() -> tuple[Association, ...]:
    text = resources.files("platform_kit.reference").joinpath("associations.csv").read_text(encoding="utf-8")
    return tuple(Association(**row) for row in csv.DictReader(text.splitlines()))  # type: ignore[arg-type]
