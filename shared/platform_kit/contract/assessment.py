"""Events the assessment publishes on ``assessment.events``: figures, rankings, orders."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from platform_kit.contract import catalogue
from platform_kit.contract.common import Payload, UnitCode

Band = Literal["green", "yellow", "red"]
Level = Literal["town", "village"]
PERIOD = r"^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"


@catalogue.event("CoverageChanged")
class CoverageChanged(Payload):
    unit_code: UnitCode
    indicator: str = Field(max_length=60)
    period: str = Field(pattern=PERIOD)
    numerator: int = Field(ge=0)
    denominator: int = Field(ge=0)
    rate: float | None = Field(None, ge=0, le=1)
    target: float = Field(ge=0, le=1)
    band: Band


class RankingRow(Payload):
    rank: int = Field(ge=1)
    unit_code: UnitCode
    score: float
    veto: bool = False


@catalogue.event("RankingPublished")
class RankingPublished(Payload):
    period: str = Field(pattern=PERIOD)
    level: Level
    parent_unit: UnitCode | None = None
    rows: list[RankingRow]


@catalogue.event("RectificationRequired")
class RectificationRequired(Payload):
    unit_code: UnitCode
    period: str = Field(pattern=PERIOD)
    rank: int = Field(ge=1)
    reason: str = Field(max_length=500)
    plan_due: date


@catalogue.event("RectificationPlanSubmitted")
class RectificationPlanSubmitted(Payload):
    unit_code: UnitCode
    period: str = Field(pattern=PERIOD)
    summary: str = Field(max_length=2000)


@catalogue.event("VetoApplied")
class VetoApplied(Payload):
    unit_code: UnitCode
    period: str = Field(pattern=PERIOD)
    reason: str = Field(max_length=500)
    decided_by: str = Field(max_length=100)
