"""The assessment's policy: indicators, bands, penalties, veto and rectification, as the district
sets them in ``indicators.toml`` (read by ``assessment.settings.load_rules``). Validated when
read, so a typo in a rule name stops the service at start. Pure: no I/O in here."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assessment.domain.rules import check_rule


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


LOCAL_ASSUMPTION = "local assumption"  # a number the source document does not give: the district's own setting


class Indicator(_Rules):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    name_zh: str
    name_en: str
    denominator: str
    numerator: str
    target: float = Field(ge=0, le=1)
    weight: float = Field(ge=0)
    yellow_margin: float | None = Field(None, ge=0, le=1)
    # Where each number comes from: the document's own sentence, or "local assumption".
    target_source: str = Field(LOCAL_ASSUMPTION, min_length=1)
    weight_source: str = Field(LOCAL_ASSUMPTION, min_length=1)
    rule_source: str | None = Field(None, description="what in who-is-counted is the district's own setting")

    @field_validator("denominator")
    @classmethod
    def _known_denominator(cls, rule: str) -> str:
        return check_rule("denominator", rule)

    @field_validator("numerator")
    @classmethod
    def _known_numerator(cls, rule: str) -> str:
        return check_rule("numerator", rule)


_COMPARISONS: dict[str, Any] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a is not None and a > b,
    "ge": lambda a, b: a is not None and a >= b, "lt": lambda a, b: a is not None and a < b,
    "le": lambda a, b: a is not None and a <= b, "in": lambda a, b: a in b,
}


def matches(where: dict[str, Any], payload: dict[str, Any]) -> bool:
    """``{field: value}`` is equality; ``{field: {gt: 0}}`` (eq, ne, gt, ge, lt, le, in) compares."""
    for name, wanted in where.items():
        tests = wanted if isinstance(wanted, dict) else {"eq": wanted}
        if not all(_COMPARISONS[op](payload.get(name), value) for op, value in tests.items()):
            return False
    return True


class EventCondition(_Rules):
    event_type: str = Field(pattern=r"^[A-Z][A-Za-z0-9]+$")
    where: dict[str, Any] = Field(default_factory=dict)

    @field_validator("where")
    @classmethod
    def _known_comparisons(cls, where: dict[str, Any]) -> dict[str, Any]:
        for name, wanted in where.items():
            if isinstance(wanted, dict) and not set(wanted) <= set(_COMPARISONS):
                raise ValueError(f"where.{name}: comparisons are {', '.join(_COMPARISONS)}")
        return where

    def matches(self, event_type: str, payload: dict[str, Any]) -> bool:
        return event_type == self.event_type and matches(self.where, payload)


class Penalty(EventCondition):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    points: float = Field(gt=0)
    cap: float | None = Field(None, gt=0)
    source: str = LOCAL_ASSUMPTION  # of the points and the cap
    stream_had: EventCondition | None = Field(
        None, description="only if an earlier event of the same stream matched this (e.g. the request was to us)"
    )


class Assessment(_Rules):
    years: list[int] = Field(min_length=1)
    # The current year and the ones before it kept live besides ``years``, following the
    # service's clock (a new year is live from 1 January, without a restart).
    recent_years: int = Field(2, ge=0, le=10)
    recent_years_source: str = LOCAL_ASSUMPTION


class Bands(_Rules):
    yellow_margin: float = Field(0.10, ge=0, le=1)
    source: str = LOCAL_ASSUMPTION


class Veto(_Rules):
    applies_to_containing_periods: bool = True
    source: str = LOCAL_ASSUMPTION


class Rectification(_Rules):
    bottom_count: int = Field(1, ge=1)
    plan_due_days: int = Field(30, ge=1)
    resubmit_due_days: int = Field(15, ge=1, description="a returned plan is due again this many days later")
    check_due_days: int = Field(60, ge=1, description="an accepted plan is checked within this many days")
    source: str = LOCAL_ASSUMPTION  # the order itself
    bottom_count_source: str = LOCAL_ASSUMPTION
    plan_due_days_source: str = LOCAL_ASSUMPTION
    resubmit_due_days_source: str = LOCAL_ASSUMPTION
    check_due_days_source: str = LOCAL_ASSUMPTION


class Reward(_Rules):
    """同奖同惩: the top ``top_count`` ranks of each ranking are rewarded (0: nobody)."""

    top_count: int = Field(1, ge=0)
    source: str = LOCAL_ASSUMPTION
    top_count_source: str = LOCAL_ASSUMPTION


class RankingSchedule(_Rules):
    """定期通报: which rankings the service announces by itself, and when."""

    periods: list[Literal["month", "quarter", "year"]] = Field(default_factory=lambda: ["quarter", "year"])
    levels: list[Literal["town", "village"]] = Field(default_factory=lambda: ["town", "village"])
    after_days: int = Field(5, ge=0, le=90, description="days after a period ends before its ranking goes out")
    source: str = LOCAL_ASSUMPTION
    periods_source: str = LOCAL_ASSUMPTION
    after_days_source: str = LOCAL_ASSUMPTION


class Rules(_Rules):
    assessment: Assessment
    bands: Bands = Bands()
    indicator: list[Indicator] = Field(min_length=1)
    penalty: list[Penalty] = Field(default_factory=list)
    veto: Veto = Veto()
    rectification: Rectification = Rectification()
    ranking_schedule: RankingSchedule = RankingSchedule()
    reward: Reward = Reward()

    @model_validator(mode="after")
    def _unique_ids(self) -> Rules:
        for kind, ids in (("indicator", [i.id for i in self.indicator]), ("penalty", [p.id for p in self.penalty])):
            if len(set(ids)) != len(ids):
                raise ValueError(f"{kind}: ids must be unique, got {ids}")
        return self

    @property
    def indicators(self) -> list[Indicator]:
        return self.indicator

    @property
    def penalties(self) -> list[Penalty]:
        return self.penalty

    @cached_property
    def by_id(self) -> dict[str, Indicator]:
        return {indicator.id: indicator for indicator in self.indicator}

    def yellow_margin(self, indicator: Indicator) -> float:
        return self.bands.yellow_margin if indicator.yellow_margin is None else indicator.yellow_margin

    def penalty_for(
        self, event_type: str, payload: dict[str, Any], earlier: list[tuple[str, dict[str, Any]]] = ()
    ) -> Penalty | None:
        """The rule penalising this event, given the earlier events of its stream (type, payload)."""
        for penalty in self.penalty:
            if penalty.matches(event_type, payload) and (
                penalty.stream_had is None or any(penalty.stream_had.matches(t, p) for t, p in earlier)
            ):
                return penalty
        return None

    @cached_property
    def penalty_event_types(self) -> frozenset[str]:
        return frozenset(p.event_type for p in self.penalty)

    @cached_property
    def marked_event_types(self) -> frozenset[str]:
        """Events a penalty rule needs to remember on their stream (``stream_had``)."""
        return frozenset(p.stream_had.event_type for p in self.penalty if p.stream_had)
