"""Events the assessment publishes on ``assessment.events``: figures, rankings, orders.

CoverageChanged streams are ``coverage-<unit>-<indicator>-<period>`` (one version per change
of that cell); rankings ``ranking-<period>-<level>[-<town>]``; vetoes
``veto-<unit>-<period>``; rectification orders and the plans answering them
``rectification-<unit>-<period>``. Formulas: docs/assessment.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from platform_kit.contract import catalogue
from platform_kit.contract.common import ContractDate, Payload, Text, UnitCode

Band = Literal["green", "yellow", "red", "grey"]  # grey: nobody to count
Level = Literal["town", "village"]
PERIOD = r"^[0-9]{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"


@catalogue.event("CoverageChanged")
class CoverageChanged(Payload):
    """One cell of the live coverage view changed (a village, a town or the district)."""

    unit_code: UnitCode
    indicator: Text = Field(max_length=60)
    period: Text = Field(pattern=PERIOD, description="2013, 2013-Q2 or 2013-05 (China Standard Time)")
    numerator: int = Field(ge=0, le=100_000_000)
    denominator: int = Field(ge=0, le=100_000_000)
    rate: float | None = Field(None, ge=0, le=1, description="numerator / denominator; null when nobody is counted")
    target: float = Field(ge=0, le=1)
    band: Band


class RankingRow(Payload):
    rank: int = Field(ge=1, le=100_000_000)
    unit_code: UnitCode
    score: float | None = Field(description="weighted attainment (0-100) minus penalty points; null for a vetoed unit with nobody to count")
    veto: bool = False


@catalogue.event("RankingPublished")
class RankingPublished(Payload):
    """The district centre published a ranking: towns among towns, or one town's villages."""

    period: Text = Field(pattern=PERIOD)
    level: Level
    parent_unit: UnitCode | None = Field(None, description="the town, for a ranking of its villages")
    rows: list[RankingRow]


@catalogue.event("RectificationRequired")
class RectificationRequired(Payload):
    """A bottom-ranked unit must submit a written report and a rectification plan."""

    unit_code: UnitCode
    period: Text = Field(pattern=PERIOD)
    rank: int = Field(ge=1, le=100_000_000)
    reason: Text = Field(max_length=500)
    plan_due: ContractDate


@catalogue.event("RectificationPlanSubmitted")
class RectificationPlanSubmitted(Payload):
    """The plan that answers (and clears) a rectification order."""

    unit_code: UnitCode
    period: Text = Field(pattern=PERIOD)
    summary: Text = Field(max_length=2000)


@catalogue.event("VetoApplied")
class VetoApplied(Payload):
    """一票否决: the unit ranks last for the period (and for the periods containing it)."""

    unit_code: UnitCode
    period: Text = Field(pattern=PERIOD)
    reason: Text = Field(max_length=500)
    decided_by: Text = Field(max_length=100)
