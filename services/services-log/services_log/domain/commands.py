"""What comes in (commands, from staff over HTTP or mapped from a department's message) and what
goes out (the answers of the HTTP API, and the record of a rejected department message)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from platform_kit.contract.common import UnitCode
from platform_kit.contract.services_log import (
    Audience,
    CertificateMode,
    Residence,
    ServiceKind,
    SixOnesItem,
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
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OccurredAt = Annotated[
    AwareDatetime, Field(description="when it happened (business time), ISO 8601 with offset; not in the future")
]


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
    person_times: int = Field(ge=1, description="人次: each trainee counts once per session attended")
    trainee_refs: list[Ref] = Field(default_factory=list, max_length=2000, description="who was trained")
    audience: Audience = "staff"
    occurred_at: OccurredAt


class RecordAssociationActivity(Command):
    """An activity held by one of the 13 migrant family-planning associations (计生协会)."""

    activity_id: uuid.UUID | None = Field(None, description="choose it to make retries safe; generated when absent")
    association_ref: str = Field(max_length=60, description="e.g. association-07; GET /api/associations lists them")
    activity: Text
    participants: int = Field(ge=0)
    occurred_at: OccurredAt


RecordType = Literal["ServiceDelivered", "SurveyRecorded", "TrainingHeld", "AssociationActivityHeld"]


class Recorded(BaseModel):
    """The answer to a command: what was recorded, and where."""

    id: uuid.UUID = Field(description="the record's id (service_id, survey_id, training_id or activity_id)")
    record_type: RecordType
    stream_id: str
    event_id: uuid.UUID
    stream_version: int
    residence: Residence | None = None
    resident_unit: UnitCode | None = None
    replayed: bool = Field(False, description="true when the same record had been recorded before (a safe retry)")


class RecordView(BaseModel):
    """A record as it stands now: its first event, and the residence as later resolved."""

    id: uuid.UUID
    record_type: RecordType
    stream_id: str
    unit_code: UnitCode
    source: str
    occurred_at: datetime
    recorded_at: datetime
    stream_version: int
    fields: dict[str, Any] = Field(description="the record's payload as first recorded")
    residence: Residence | Literal["departed"] | None = None
    resident_unit: UnitCode | None = None
    residence_resolved_at: datetime | None = None


class AwaitingResident(BaseModel):
    """A service or survey recorded for a resident the registry has not told us about yet."""

    record_type: Literal["ServiceDelivered", "SurveyRecorded"]
    id: uuid.UUID
    stream_id: str
    resident_id: uuid.UUID
    unit_code: UnitCode
    occurred_at: datetime
    recorded_at: datetime


class ResidentView(BaseModel):
    """What the services log knows of a resident from registry.events (never personal data)."""

    resident_id: uuid.UUID
    known: bool
    unit_code: UnitCode | None = Field(None, description="where they live now (null once departed)")
    since: datetime | None = None
    departed: bool = False
    sex: str | None = None
    birth_date: date | None = None
    marital_status: str | None = None
    population: str | None = None


class AssociationView(BaseModel):
    ref: str
    name: str
    host_unit_code: UnitCode
    host_kind: str


class FieldProblem(BaseModel):
    field: str = Field(description="the offending field, dotted (payload.person_times), or 'body'/'message'")
    reason: str


class Problem(BaseModel):
    """Every 4xx answer: which fields, and why. Nothing was written."""

    status: int
    title: str
    errors: list[FieldProblem]


class IngestRejection(BaseModel):
    """A department message the services log could not accept, published on ingest.rejected
    (the registry publishes the same shape). Nothing was recorded for it. ``field`` and
    ``reason`` are the first problem, ``errors`` all of them."""

    rejected_by: Literal["services-log"] = "services-log"
    rejected_at: datetime
    topic: str
    partition: int
    offset: int
    event_id: uuid.UUID | None = Field(None, description="the department's event id, when readable")
    event_type: str | None = Field(None, description="the message's event_type, when readable")
    field: str = Field(description="what is wrong: an envelope field, payload.<field>, or message")
    reason: str
    errors: list[FieldProblem] = Field(description="every problem found, the first being field and reason")
    original: str = Field(description="the message as received, anything that looks like personal data masked")
