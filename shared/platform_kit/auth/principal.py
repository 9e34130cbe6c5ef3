"""Who is calling, and what their role lets them do in which units.

The roles follow the district's three tiers and its partners:

==========  =====================================  ==================  ====================
role        reads                                  writes              personal data
==========  =====================================  ==================  ====================
district    every unit                             every unit          in clear
town        itself and its villages                the same            in clear, in scope
village     itself                                 itself              in clear, in scope
auditor     every unit                             nothing             masked
department  nothing through unit scopes            nothing (its topic) never
==========  =====================================  ==================  ====================

Only the district vetoes, publishes the ranking, reviews rectification, rebuilds read models and erases a person.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from platform_kit.topics import DEPARTMENTS
from platform_kit.units import UnitTree

Role = Literal["district", "town", "village", "department", "auditor"]
ROLES: tuple[Role, ...] = get_args(Role)
DistrictAction = Literal["veto", "publish_ranking", "review_rectification", "rebuild", "erase"]
DISTRICT_ACTIONS: tuple[DistrictAction, ...] = get_args(DistrictAction)
PersonalDataView = Literal["clear", "masked", "hidden"]
# The tier a unit-scoped role's own units must sit at.
ROLE_LEVEL = {"district": "district", "town": "town", "village": "village"}


class Principal(BaseModel):
    """The caller, as its token names it. ``units`` are 12-digit unit codes, except for a
    department, whose ``units`` name the department (``["health"]``)."""

    model_config = ConfigDict(frozen=True)

    sub: str = Field(min_length=1, max_length=200)
    role: Role
    units: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _units_fit_the_role(self) -> Principal:
        if self.role == "department":
            unknown = [name for name in self.units if name not in DEPARTMENTS]
            if not self.units or unknown:
                raise ValueError(f"a department token names one of {', '.join(DEPARTMENTS)}")
        elif self.role in ("town", "village"):
            if not self.units:
                raise ValueError(f"a {self.role} token names its units")
            if any(len(code) != 12 or not code.isascii() or not code.isdigit() for code in self.units):
                raise ValueError("units are 12-digit unit codes")
        return self

    @property
    def department(self) -> str | None:
        return self.units[0] if self.role == "department" else None

    def _in_scope(self, code: str, tree: UnitTree) -> bool:
        if code not in tree:
            return False
        if self.role == "district":
            return True
        if self.role == "town":
            unit = tree[code]
            return code in self.units or (unit.level == "village" and unit.parent_code in self.units)
        if self.role == "village":
            return code in self.units
        return False

    def can_read_unit(self, code: str, tree: UnitTree) -> bool:
        if self.role == "auditor":
            return code in tree
        return self._in_scope(code, tree)

    def can_write_unit(self, code: str, tree: UnitTree) -> bool:
        # Auditors only look; departments speak through their ingest topic, not unit scopes.
        return self.role not in ("auditor", "department") and self._in_scope(code, tree)

    def may(self, action: str) -> bool:
        if action not in DISTRICT_ACTIONS:
            raise ValueError(f"unknown district action {action!r}; one of {', '.join(DISTRICT_ACTIONS)}")
        return self.role == "district"

    def personal_data(self, code: str, tree: UnitTree) -> PersonalDataView:
        """How this caller may see a person's name, ID number and phone in unit ``code``."""
        if self.role == "auditor":
            return "masked" if code in tree else "hidden"
        if self.role == "department":
            return "hidden"
        return "clear" if self._in_scope(code, tree) else "hidden"

    def sees_personal_data(self, code: str, tree: UnitTree) -> bool:
        return self.personal_data(code, tree) == "clear"
