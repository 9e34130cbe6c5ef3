"""What the registry answers over HTTP: what a command wrote, and the views of what it knows."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from platform_kit.contract.registry import BirthReporter, MaritalStatus, Population, Sex, VerificationKind


class Recorded(BaseModel):
    """What a command wrote: the stream it changed and its version now."""

    resident_id: uuid.UUID | None = None
    stream_id: str
    stream_version: int
    event_ids: list[uuid.UUID]
    child_resident_id: uuid.UUID | None = None
    verification_request_ids: list[uuid.UUID] = []


class ResidentRef(BaseModel):
    resident_id: uuid.UUID
    stream_version: int


class PersonalView(BaseModel):
    name: str | None
    id_number: str | None
    phone: str | None


class ChildView(BaseModel):
    child_resident_id: uuid.UUID
    birth_date: date
    sex: Sex
    reported_by: list[BirthReporter]


class PermitView(BaseModel):
    permit_ref: str
    issued_on: date
    valid_until: date


class EnrolmentView(BaseModel):
    school_name: str
    school_year: int
    grade: int


class ResidentView(BaseModel):
    resident_id: uuid.UUID
    stream_version: int
    status: Literal["living", "departed"]
    erased: bool = Field(description="personal data erased (crypto-shredded): personal is null for good")
    personal: PersonalView | None
    sex: Sex
    birth_date: date
    marital_status: MaritalStatus
    population: Population
    household_registration_place: str
    unit_code: str
    unit_name: str
    registered_at: datetime
    departed_on: date | None
    mother_resident_id: uuid.UUID | None
    children: list[ChildView]
    residence_permits: list[PermitView]
    enrolments: list[EnrolmentView]
    pregnancy_plans: list[date]


class ResidentSummary(BaseModel):
    resident_id: uuid.UUID
    name: str | None = Field(description="null when erased")
    sex: Sex
    birth_date: date
    marital_status: MaritalStatus
    population: Population
    unit_code: str
    status: Literal["living", "departed"]
    erased: bool
    stream_version: int


class ResidentPage(BaseModel):
    total: int
    items: list[ResidentSummary]


class VerificationView(BaseModel):
    request_id: uuid.UUID
    resident_id: uuid.UUID
    unit_code: str
    direction: Literal["outgoing", "incoming"]
    kind: VerificationKind
    counterpart_place: str
    subject: str
    raised_by: str
    requested_on: date
    due_on: date
    replied_on: date | None
    outcome: str | None
    days_late: int = Field(description="days past the deadline: of the reply, or of today while unanswered")
    overdue: bool = Field(description="past the deadline: unanswered, or answered late")
    stream_version: int


class DiscrepancyView(BaseModel):
    discrepancy_id: uuid.UUID
    kind: str
    unit_code: str
    mother_resident_id: uuid.UUID | None
    child_resident_id: uuid.UUID | None
    birth_date: date | None
    found_by: str
    found_at: datetime
    detail: str


class Counts(BaseModel):
    unit_code: str
    living: int
    departed: int
    erased: int
    by_population: dict[str, int]
    by_sex: dict[str, int]


class ReconciliationResult(BaseModel):
    found: list[DiscrepancyView]


class UnitView(BaseModel):
    code: str
    name: str
    kind: str
    level: str
    parent_code: str | None


class UnitDetail(UnitView):
    ancestors: list[UnitView]
    children: list[UnitView]


class AssociationView(BaseModel):
    ref: str
    name: str
    host_unit_code: str
    host_kind: str
