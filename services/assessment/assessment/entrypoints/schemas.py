"""The shapes of the HTTP API, for validation and for the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from platform_kit.contract.assessment import PERIOD
from platform_kit.contract.common import UnitCode

Band = Literal["green", "yellow", "red", "grey"]


class UnitOut(BaseModel):
    code: str
    name: str
    name_en: str
    level: Literal["district", "town", "village"]
    parent_code: str | None


class TownOut(UnitOut):
    villages: list[UnitOut]


class UnitsOut(BaseModel):
    district: UnitOut
    towns: list[TownOut]


class IndicatorMeta(BaseModel):
    id: str
    name_zh: str
    name_en: str
    denominator: str = Field(description="who is counted (a rule of docs/assessment.md)")
    numerator: str = Field(description="who of them counts as served")
    target: float
    target_source: str = Field(description="where the number comes from: the document's own sentence, or \"local assumption\"")
    weight: float
    weight_source: str = Field(description="where the number comes from: the document's own sentence, or \"local assumption\"")
    rule_source: str | None = Field(description="what in who-is-counted is a local setting, and why")
    yellow_margin: float


class PenaltyMeta(BaseModel):
    id: str
    name_zh: str
    name_en: str
    event_type: str
    points: float
    cap: float | None
    source: str = Field(description="where the number comes from: the document's own sentence, or \"local assumption\"")


class RectificationRules(BaseModel):
    bottom_count: int
    plan_due_days: int
    source: str
    bottom_count_source: str
    plan_due_days_source: str


class RulesOut(BaseModel):
    years: list[int] = Field(description="the years kept live")
    indicators: list[IndicatorMeta]
    yellow_margin: float
    yellow_margin_source: str
    penalties: list[PenaltyMeta]
    veto_applies_to_containing_periods: bool
    veto_source: str
    rectification: RectificationRules


class FigureOut(BaseModel):
    numerator: int
    denominator: int
    rate: float | None = Field(description="numerator / denominator, 4 decimals; null when nobody is counted")
    target: float
    gap: float | None = Field(description="target - rate; positive when short of the target")
    shortfall: int = Field(description="how many more people must be served to reach the target")
    band: Band


class PreviousYear(BaseModel):
    period: str
    rate: float | None


class IndicatorCoverage(FigureOut):
    id: str
    name_zh: str
    name_en: str
    weight: float
    previous_year: PreviousYear | None = Field(
        None, description="for a year: the year before's rate, on the same clocks (逐年提高: rising year on year)"
    )
    change_points: float | None = Field(
        None, description="for a year: rate − the year before's rate, in percentage points; null when either is"
    )


class Clocked(BaseModel):
    as_of: datetime | None = Field(description="only what had occurred by then (business time)")
    known_at: datetime | None = Field(description="only what had been recorded by then (system time)")


Population = Literal["migrant", "registered"]


class CoverageOut(Clocked):
    unit: UnitOut
    period: str
    population: Population = Field(description="whom the figures count: migrants (流动人口) or the registered population (户籍人口)")
    source: Literal["live", "history"]
    indicators: list[IndicatorCoverage]


class EqualisationIndicator(BaseModel):
    id: str
    name_zh: str
    name_en: str
    target: float
    migrant: FigureOut
    registered: FigureOut
    gap_points: float | None = Field(
        description="migrant rate − registered rate, in percentage points (negative: migrants lag); "
        "null when either population has nobody to count"
    )


class EqualisationSource(BaseModel):
    migrant: Literal["live", "history"]
    registered: Literal["live", "history"]


class EqualisationOut(Clocked):
    unit: UnitOut
    period: str
    source: EqualisationSource
    indicators: list[EqualisationIndicator]


class ExplainEvent(BaseModel):
    event_id: str
    role: Literal["denominator", "numerator", "corrected", "correction"] = Field(
        description="what the event did for the figure; a corrected event is listed with its correction"
    )
    event_type: str | None
    occurred_at: datetime | None
    recorded_at: datetime | None
    corrects: str | None = Field(None, description="for a correction: the event_id it corrects")
    reason: str | None = Field(None, description="for a correction: why")
    withdrawn: bool | None = Field(None, description="for a correction: the service was not delivered")
    service_kind: str | None = Field(None, description="for a correction: the right kind")


class CountedPerson(BaseModel):
    resident_id: str
    unit_code: str
    served: bool
    events: list[ExplainEvent]


class ExplainIndicator(BaseModel):
    id: str
    name_zh: str
    name_en: str
    denominator: str
    numerator: str


class ExplainOut(FigureOut, Clocked):
    unit: UnitOut
    indicator: ExplainIndicator
    period: str
    people: list[CountedPerson]


class TrendPoint(FigureOut):
    period: str


class TrendOut(Clocked):
    unit_code: str
    year: int
    indicators: dict[str, list[TrendPoint]]


class RectificationOut(BaseModel):
    unit_code: str
    period: str
    rank: int
    reason: str
    plan_due: str
    status: Literal["open", "plan_submitted"]
    required_event_id: str
    plan_event_id: str | None
    plan_summary: str | None


class ScoreboardRow(BaseModel):
    rank: int
    previous_rank: int | None = Field(description="rank in the previous period of the same kind")
    rank_change: int | None = Field(description="places gained since the previous period (negative: lost)")
    unit_code: str
    unit_name: str
    unit_name_en: str
    parent_code: str | None
    parent_name: str | None
    score: float = Field(description="attainment - penalty (a unit with nobody to count: 100, flagged not_assessed)")
    attainment: float = Field(description="weighted attainment of the targets, 0-100")
    penalty: float
    penalties: dict[str, float]
    veto: bool
    veto_reason: str | None
    flags: list[Literal["veto", "bottom", "not_assessed", "penalty", "rectification_required", "rectification_plan_submitted"]]
    rectification: RectificationOut | None
    indicators: dict[str, FigureOut]


class ScoreboardOut(Clocked):
    period: str
    level: Literal["town", "village"]
    parent: str | None
    source: Literal["live", "history"]
    indicators: list[IndicatorMeta]
    rows: list[ScoreboardRow]


class VetoIn(BaseModel):
    unit_code: UnitCode
    period: str = Field(pattern=PERIOD)
    reason: str = Field(min_length=1, max_length=500)
    decided_by: str = Field(min_length=1, max_length=100)
    occurred_at: datetime | None = Field(None, description="when it was decided (default: now)")


class RankingIn(BaseModel):
    period: str = Field(pattern=PERIOD)
    level: Literal["town", "village"]
    parent: UnitCode | None = Field(None, description="villages of one town; omitted: every town's villages")


class PlanIn(BaseModel):
    unit_code: UnitCode
    period: str = Field(pattern=PERIOD)
    summary: str = Field(min_length=1, max_length=2000)


class EventOut(BaseModel):
    event_id: str
    event_type: str
    stream_id: str
    stream_version: int
    unit_code: str
    occurred_at: datetime
    recorded_at: datetime
    payload: dict
