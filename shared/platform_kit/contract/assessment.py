"""Events the assessment publishes on ``assessment.events``: figures, rankings, orders.

CoverageChanged (v2) is one stream per district, ``coverage-<district>``: each version lists
every cell whose figure moved since the one before (v1, one event per cell on
``coverage-<unit>-<indicator>-<period>``, is read as a list of one); rankings ``ranking-<period>-<level>[-<town>]``; vetoes
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


class CoverageFigure(Payload):
    """One cell of the live coverage view (a village, a town or the district) and its new figure."""

    unit_code: UnitCode
    indicator: Text = Field(max_length=60)
    period: Text = Field(pattern=PERIOD, description="2013, 2013-Q2 or 2013-05 (China Standard Time)")
    numerator: int = Field(ge=0, le=100_000_000)
    denominator: int = Field(ge=0, le=100_000_000)
    rate: float | None = Field(None, ge=0, le=1, description="numerator / denominator; null when nobody is counted")
    target: float = Field(ge=0, le=1)
    band: Band


# Bounded so that one announcement stays far below Kafka's 1 MiB (a figure is ~200 bytes).
MOST_FIGURES = 1000


@catalogue.event("CoverageChanged", version=2)
class CoverageChanged(Payload):
    """The cells of the live coverage view that changed since the previous announcement, each
    once, with its latest figure. v2: one event per announcement instead of one per cell (a
    busy second moved tens of cells per input event, each its own event)."""

    figures: list[CoverageFigure] = Field(min_length=1, max_length=MOST_FIGURES)


@catalogue.upcaster("CoverageChanged", from_version=1)
def _one_cell_is_a_list_of_one(payload: dict) -> dict:
    return {"figures": [payload]}


class RankingRow(Payload):
    rank: int = Field(ge=1, le=100_000_000)
    unit_code: UnitCode
    score: float = Field(description="weighted attainment (0-100) minus penalty points")
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
