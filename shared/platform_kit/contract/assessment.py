"""Events the assessment publishes on ``assessment.events``: figures, rankings, orders.

CoverageChanged (v2) is one stream per district, ``coverage-<district>``: each version lists
every cell whose figure moved since the one before (v1, one event per cell on
``coverage-<unit>-<indicator>-<period>``, is read as a list of one); rankings
``ranking-<period>-<level>[-<town>]``; vetoes ``veto-<unit>-<period>``; a rectification order
and its whole cycle (plans, reviews, the follow-up check) ``rectification-<unit>-<period>``.
Formulas: docs/assessment.md; the cycle: docs/rectification.md.
"""

from __future__ import annotations

import uuid
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
    score: float | None = Field(description="weighted attainment (0-100) minus penalty points; null for a vetoed unit with nobody to count")
    veto: bool = False
    attainment: float | None = Field(None, description="weighted attainment of the targets, 0-100")
    penalty: float | None = Field(None, ge=0, description="penalty points deducted")
    assessed: bool = Field(True, description="false: nobody to count in any indicator (its score means nothing)")
    of: int | None = Field(None, ge=1, description="how many units the ranking has")
    reward: bool = Field(False, description="among the top units the district rewards (同奖同惩)")


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


DocumentKind = Literal["written_report", "rectification_plan"]  # 书面检查汇报, 整改方案


class Document(Payload):
    """A document handed in, by its fingerprint: the bytes never travel on Kafka (a report may
    name the people it concerns); ``reference`` says where they are kept."""

    kind: DocumentKind
    name: Text = Field(min_length=1, max_length=200, description="the document's title or file name")
    media_type: Text = Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=100)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of the bytes")
    size: int = Field(ge=0, le=50_000_000, description="bytes")
    reference: Text = Field(
        min_length=1, max_length=500,
        description="assessment:documents/<sha256> when the assessment keeps the bytes, else the district's own filing reference",
    )


@catalogue.event("RectificationPlanSubmitted")
class RectificationPlanSubmitted(Payload):
    """The unit's written report and rectification plan, for the district to review."""

    unit_code: UnitCode
    period: Text = Field(pattern=PERIOD)
    summary: Text = Field(max_length=2000)
    round: int = Field(1, ge=1, le=100, description="1 for the first submission, +1 after each return")
    documents: list[Document] = Field(default_factory=list, max_length=20)


@catalogue.event("RectificationPlanReturned")
class RectificationPlanReturned(Payload):
    """The district returned the submission: the unit must hand in again by ``plan_due``."""

    unit_code: UnitCode
    period: Text = Field(pattern=PERIOD)
    round: int = Field(ge=1, le=100, description="the round returned")
    reasons: list[Text] = Field(min_length=1, max_length=20)
    plan_due: ContractDate
    decided_by: Text = Field(max_length=100)


@catalogue.event("RectificationPlanAccepted")
class RectificationPlanAccepted(Payload):
    """The district accepted the submission; it will check the rectification by ``check_due``."""

    unit_code: UnitCode
    period: Text = Field(pattern=PERIOD)
    round: int = Field(ge=1, le=100, description="the round accepted")
    reasons: list[Text] = Field(min_length=1, max_length=20)
    check_due: ContractDate
    decided_by: Text = Field(max_length=100)


@catalogue.event("RectificationChecked")
class RectificationChecked(Payload):
    """The follow-up check of an accepted plan: the order is closed, with its result."""

    unit_code: UnitCode
    period: Text = Field(pattern=PERIOD)
    result: Literal["rectified", "not_rectified"]
    findings: Text = Field(min_length=1, max_length=2000)
    checked_by: Text = Field(max_length=100)


@catalogue.event("VetoApplied")
class VetoApplied(Payload):
    """一票否决: the unit ranks last for the period (and for the periods containing it), and may
    not be rewarded. The people held responsible are named only in the assessment's own store:
    here, their roles and where to read the names (by the district)."""

    unit_code: UnitCode
    period: Text = Field(pattern=PERIOD)
    reason: Text = Field(max_length=500)
    decided_by: Text = Field(max_length=100)
    responsible_roles: list[Literal["principal", "other"]] = Field(
        default_factory=list, max_length=20,
        description="主要负责人 (principal) and 有关责任人 (other), one per person held responsible",
    )
    responsible_ref: Text | None = Field(
        None, max_length=200, description="assessment:vetoes/<event id>/responsible: the names, kept by the assessment"
    )


@catalogue.event("VetoRevoked")
class VetoRevoked(Payload):
    """A later decision revokes a veto: the unit is ranked (and may be rewarded) again."""

    unit_code: UnitCode
    period: Text = Field(pattern=PERIOD)
    revokes: uuid.UUID = Field(description="the VetoApplied event revoked")
    reason: Text = Field(min_length=1, max_length=500)
    decided_by: Text = Field(max_length=100)


@catalogue.event("ResponsibilityLetterSigned")
class ResponsibilityLetterSigned(Payload):
    """目标责任书: the targets a unit signed for a year, per indicator; the assessment compares the
    unit's figures for that year with its own letter."""

    unit_code: UnitCode
    year: int = Field(ge=1900, le=2999)
    targets: dict[str, float] = Field(min_length=1, description="indicator id -> target rate (0-1)")
    signed_on: ContractDate
    signed_by: Text = Field(min_length=1, max_length=100, description="the office the unit signed with")


@catalogue.event("ResponsibilityLetterAmended")
class ResponsibilityLetterAmended(Payload):
    """A later recorded decision changes targets of a signed responsibility letter (on its stream
    ``letter-<unit>-<year>``). The letter and each amendment stay: the unit is compared with the
    letter as amended by the date asked (``as_of``), and its history lists every amendment."""

    unit_code: UnitCode
    year: int = Field(ge=1900, le=2999)
    amends: uuid.UUID = Field(description="the ResponsibilityLetterSigned event of the letter amended")
    targets: dict[str, float] = Field(min_length=1, description="the targets changed or added: indicator id -> rate (0-1)")
    reason: Text = Field(min_length=1, max_length=500)
    decided_by: Text = Field(min_length=1, max_length=100, description="the office that decided the amendment")
