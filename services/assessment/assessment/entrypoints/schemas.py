"""The shapes of the HTTP API, for validation and for the OpenAPI document."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field

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
    resubmit_due_days: int
    check_due_days: int
    source: str
    bottom_count_source: str
    plan_due_days_source: str
    resubmit_due_days_source: str
    check_due_days_source: str


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


class DocumentOut(BaseModel):
    kind: Literal["written_report", "rectification_plan"]
    name: str
    media_type: str
    sha256: str
    size: int
    reference: str


class RectificationOut(BaseModel):
    unit_code: str
    period: str
    rank: int
    reason: str
    plan_due: str = Field(description="when the plan is (or was) due: the latest due date, after any return")
    status: Literal["open", "plan_submitted", "returned", "accepted", "checked"]
    round: int = Field(description="1 for the first plan, +1 after each return")
    next_deadline: str | None = Field(description="the plan's due date while one is owed; the check's once accepted")
    check_due: str | None
    check_result: Literal["rectified", "not_rectified"] | None
    required_event_id: str
    plan_event_id: str | None
    plan_summary: str | None
    documents: list[DocumentOut]
    history: list[dict] = Field(description="each submission, review and check: event type, id, when, round, reasons")


class ScoreboardRow(BaseModel):
    rank: int | None = Field(description="null: not assessed (nobody to count), listed after the ranked units")
    previous_rank: int | None = Field(description="rank in the previous period of the same kind")
    rank_change: int | None = Field(description="places gained since the previous period (negative: lost)")
    unit_code: str
    unit_name: str
    unit_name_en: str
    parent_code: str | None
    parent_name: str | None
    score: float | None = Field(description="attainment - penalty; null for a unit with nobody to count (flagged not_assessed)")
    attainment: float | None = Field(description="weighted attainment of the targets, 0-100; null when not assessed")
    penalty: float
    penalties: dict[str, float]
    veto: bool
    veto_reason: str | None
    flags: list[Literal[
        "veto", "reward", "bottom", "not_assessed", "penalty", "rectification_required", "rectification_plan_submitted"
    ]] = Field(description="reward: among the top units the district rewards ([reward] top_count), beside the penalties")
    rectification: RectificationOut | None
    indicators: dict[str, FigureOut]


class ScoreboardOut(Clocked):
    period: str
    level: Literal["town", "village"]
    parent: str | None
    source: Literal["live", "history"]
    indicators: list[IndicatorMeta]
    rows: list[ScoreboardRow]


class ResponsibleIn(BaseModel):
    role: Literal["principal", "other"] = Field(description="主要负责人 or 有关责任人")
    name: str = Field(min_length=1, max_length=50)


class VetoIn(BaseModel):
    unit_code: UnitCode
    period: str = Field(pattern=PERIOD)
    reason: str = Field(min_length=1, max_length=500)
    decided_by: str = Field(min_length=1, max_length=100)
    occurred_at: datetime | None = Field(None, description="when it was decided (default: now)")
    responsible: list[ResponsibleIn] = Field(
        default_factory=list, max_length=20,
        description="追究主要负责人和有关责任人的责任: the people held to account (their names stay in the assessment)",
    )


class VetoRevocationIn(BaseModel):
    unit_code: UnitCode
    period: str = Field(pattern=PERIOD)
    reason: str = Field(min_length=1, max_length=500)
    decided_by: str = Field(min_length=1, max_length=100)


class VetoOut(BaseModel):
    event_id: str
    unit_code: str
    period: str
    reason: str
    decided_by: str
    occurred_at: datetime
    responsible_roles: list[Literal["principal", "other"]]
    responsible: list[ResponsibleIn] | None = Field(description="names: to the district only")
    revoked: dict | None = Field(description="the revocation (event_id, reason, decided_by, occurred_at), if revoked")


class RankingIn(BaseModel):
    period: str = Field(pattern=PERIOD)
    level: Literal["town", "village"]
    parent: UnitCode | None = Field(None, description="villages of one town; omitted: every town's villages")


class DocumentIn(BaseModel):
    """A document handed in: its bytes (``content_base64``, kept by the assessment and checked
    against ``sha256`` and ``size``) or the district's filing ``reference`` for them."""

    kind: Literal["written_report", "rectification_plan"] = Field(description="书面检查汇报 or 整改方案")
    name: str = Field(min_length=1, max_length=200)
    media_type: str = Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=100, examples=["application/pdf"])
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of the bytes")
    size: int = Field(ge=0, le=50_000_000)
    content_base64: str | None = Field(None, max_length=70_000_000)
    reference: str | None = Field(None, min_length=1, max_length=500)


class PlanIn(BaseModel):
    unit_code: UnitCode
    period: str = Field(pattern=PERIOD)
    summary: str = Field(min_length=1, max_length=2000)
    documents: list[DocumentIn] = Field(
        min_length=2, max_length=20, description="at least a written_report and a rectification_plan"
    )


class ReviewIn(BaseModel):
    unit_code: UnitCode
    period: str = Field(pattern=PERIOD)
    decision: Literal["accept", "return"]
    reasons: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(min_length=1, max_length=20)
    due: date | None = Field(
        None, description="accept: the check's date; return: the new plan's (default: the rules' days from today)"
    )
    decided_by: str = Field(min_length=1, max_length=100)


class CheckIn(BaseModel):
    unit_code: UnitCode
    period: str = Field(pattern=PERIOD)
    result: Literal["rectified", "not_rectified"]
    findings: str = Field(min_length=1, max_length=2000)
    checked_by: str = Field(min_length=1, max_length=100)


class EventOut(BaseModel):
    event_id: str
    event_type: str
    stream_id: str
    stream_version: int
    unit_code: str
    occurred_at: datetime
    recorded_at: datetime
    payload: dict


class LetterIn(BaseModel):
    unit_code: UnitCode
    year: int = Field(ge=1900, le=2999)
    targets: dict[str, float] = Field(min_length=1, description="indicator id -> target rate (0-1)")
    signed_on: date
    signed_by: str = Field(min_length=1, max_length=100)


class LetterAmendmentIn(BaseModel):
    unit_code: UnitCode
    year: int = Field(ge=1900, le=2999)
    targets: dict[str, float] = Field(min_length=1, description="the targets changed or added: indicator id -> rate (0-1)")
    reason: str = Field(min_length=1, max_length=500)
    decided_by: str = Field(min_length=1, max_length=100)
    occurred_at: AwareDatetime | None = Field(None, description="when it was decided (default: now)")


class LetterLine(BaseModel):
    indicator: str
    target: float
    numerator: int
    denominator: int
    rate: float | None
    met: bool | None = Field(description="null when nobody is counted")
    gap: float | None


class LetterOut(BaseModel):
    as_of: str | None = None
    known_at: str | None = None
    letter: dict
    comparison: list[LetterLine]
