"""Events the assessment publishes on ``assessment.events``: figures, rankings, orders.

CoverageChanged streams are ``coverage-<unit>-<indicator>-<period>`` (one version per change
of that cell); rankings ``ranking-<period>-<level>[-<town>]``; vetoes
``veto-<unit>-<period>``; rectification orders and the plans answering them
``rectification-<unit>-<period>``. Formulas: docs/assessment.md.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from platform_kit.contract import catalogue
from platform_kit.contract.common import Payload, UnitCode

Band = Literal["green", "yellow", "red", "grey"]  # grey: nobody to count
Level = Literal["town", "village"]
PERIOD = r"^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"


@catalogue.event("CoverageChanged")
class CoverageChanged(Payload):
    """One cell of the live coverage view changed (a village, a town or the district)."""

    unit_code: UnitCode
    indicator: str = Field(max_length=60)
    period: str = Field(pattern=PERIOD, description="2013, 2013-Q2 or 2013-05 (China Standard Time)")
    numerator: int = Field(ge=0)
    denominator: int = Field(ge=0)
    rate: float | None = Field(None, ge=0, le=1, description="numerator / denominator; null when nobody is counted")
    target: float = Field(ge=0, le=1)
    band: Band


class RankingRow(Payload):
    rank: int = Field(ge=1)
    unit_code: UnitCode
    score: float = Field(description="weighted attainment (0-100) minus penalty points")
    veto: bool = False


@catalogue.event("RankingPublished")
class RankingPublished(Payload):
    """The district centre published a ranking: towns among towns, or one town's villages."""

    period: str = Field(pattern=PERIOD)
    level: Level
    parent_unit: UnitCode | None = Field(None, description="the town, for a ranking of its villages")
    rows: list[RankingRow]


@catalogue.event("RectificationRequired")
class RectificationRequired(Payload):
    """A bottom-ranked unit must submit a written report and a rectification plan."""

    unit_code: UnitCode
    period: str = Field(pattern=PERIOD)
    rank: int = Field(ge=1)
    reason: str = Field(max_length=500)
    plan_due: date


@catalogue.event("RectificationPlanSubmitted")
class RectificationPlanSubmitted(Payload):
    """The plan that answers (and clears) a rectification order."""

    unit_code: UnitCode
    period: str = Field(pattern=PERIOD)
    summary: str = Field(max_length=2000)


@catalogue.event("VetoApplied")
class VetoApplied(Payload):
    """一票否决: the unit ranks last for the period (and for the periods containing it)."""

    unit_code: UnitCode
    period: str = Field(pattern=PERIOD)
    reason: str = Field(max_length=500)
    decided_by: str = Field(max_length=100)
