"""What the services log is asked to record: the same commands whether staff send them over HTTP
or a department's message is translated into one."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from platform_kit.contract.common import FILLED, ContractDate, UnitCode
from platform_kit.contract.services_log import (
    Audience,
    CertificateMode,
    ServiceKind,
    SixOnesItem,
    StaffRole,
    SurveyKind,
)


def _opaque_ref(longest: int, example: str) -> Any:
    """An opaque reference, never a name: a Chinese name or a space cannot match it."""
    pattern = rf"^[A-Za-z0-9][A-Za-z0-9._:-]{{0,{longest - 1}}}$"

    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(f"must be an opaque ref such as {example} (letters, digits, . _ : -), never a name")
        return value

    return Annotated[
        str, AfterValidator(check), WithJsonSchema({"type": "string", "pattern": pattern, "example": example})
    ]


StaffRef = _opaque_ref(40, "staff-0412")
Ref = _opaque_ref(60, "household-0042")
def _printable(value: str) -> str:
    # A control character (a NUL above all) is no part of a topic or a reason, and PostgreSQL
    # cannot store a NUL in JSON: refused here, with its field, rather than failing in the store.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=FILLED), AfterValidator(_printable)
]
OccurredAt = Annotated[
    AwareDatetime, Field(description="when it happened (business time), ISO 8601 with offset; not in the future")
]


MOST_PEOPLE = 100_000  # far more than any one training or activity in a district ever counts


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordService(Command):
    """A service delivered by a unit's staff member to a resident, a household, or both."""

    service_id: uuid.UUID | None = Field(None, description="choose it to make retries safe; generated when absent")
    service_kind: ServiceKind
    six_ones_item: SixOnesItem | None = Field(None, description="required exactly when service_kind is six_ones")
    certificate_mode: CertificateMode | None = Field(
        None, description="required exactly when service_kind is certificate_handling"
    )
    resident_id: uuid.UUID | None = None
    household_ref: Ref | None = None
    delivered_by_unit: UnitCode
    staff_ref: StaffRef
    free_of_charge: bool = True
    cross_unit_reason: Text | None = Field(None, description="why this unit served someone living elsewhere")
    occurred_at: OccurredAt


class CorrectService(Command):
    """A recorded service was wrong: withdraw it (not delivered), or give its right kind."""

    reason: Text = Field(min_length=3, description="why, in the staff member's words (no personal data)")
    withdrawn: bool = False
    service_kind: ServiceKind | None = Field(None, description="the right kind; exactly one of this or withdrawn")
    staff_ref: StaffRef


class RecordSurvey(Command):
    """One resident's answer to an awareness survey (政策知晓 / 生殖健康知识知晓)."""

    survey_id: uuid.UUID | None = Field(None, description="choose it to make retries safe; generated when absent")
    survey_kind: SurveyKind
    resident_id: uuid.UUID
    aware: bool
    surveyed_by_unit: UnitCode
    staff_ref: StaffRef | None = None
    occurred_at: OccurredAt


class RecordTraining(Command):
    """A training held by a unit (or, from hr, employment training for migrants)."""

    training_id: uuid.UUID | None = Field(None, description="choose it to make retries safe; generated when absent")
    held_by_unit: UnitCode
    topic: Text
    # Bounded, so that no reader summing them (the assessment) meets a number it cannot store.
    person_times: int = Field(ge=1, le=MOST_PEOPLE, description="人次: each trainee counts once per session attended")
    trainee_refs: list[Ref] = Field(default_factory=list, max_length=2000, description="who was trained")
    audience: Audience = "staff"
    occurred_at: OccurredAt


class RecordAssociationActivity(Command):
    """An activity held by one of the 13 migrant family-planning associations (计生协会)."""

    activity_id: uuid.UUID | None = Field(None, description="choose it to make retries safe; generated when absent")
    association_ref: Annotated[str, AfterValidator(_printable)] = Field(max_length=60, description="e.g. association-07; GET /api/associations lists them")
    activity: Text
    participants: int = Field(ge=0, le=MOST_PEOPLE)
    occurred_at: OccurredAt


def _person_name(value: str) -> str:
    # Letters (any script), the middle dot of transliterated names, spaces between Latin words;
    # never digits or symbols, which is how an ID number or a phone pasted in the wrong box shows.
    if not re.fullmatch(r"[^\W\d_]+(?:[ ·•][^\W\d_]+)*", value):
        raise ValueError("must be a person's name: letters only, no digits or symbols")
    return value


PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=FILLED), AfterValidator(_person_name)]


class AssignStaff(Command):
    """Put a member of the network on a unit's roster (or move them to another unit)."""

    staff_ref: StaffRef
    unit_code: UnitCode
    role: StaffRole = Field(description="manager (专职流动人口服务管理员) or assistant (协管员)")
    name: PersonName = Field(description="personal data: sealed before it is stored, never logged or published")
    assigned_on: ContractDate


class RemoveStaff(Command):
    """Take a member of the network off the roster: they leave their unit (moved away, retired)."""

    staff_ref: StaffRef
    removed_on: ContractDate = Field(description="the first day they are no longer on the roster")
    reason: Text = Field(description="why they leave, in the unit's words (no personal data)")
