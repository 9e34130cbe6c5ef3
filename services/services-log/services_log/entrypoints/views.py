"""What the HTTP API answers: a record as recorded or as it stands now, the records waiting for
the registry, what the services log knows of a resident, the district's associations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from platform_kit.contract.common import UnitCode
from platform_kit.contract.services_log import Residence

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


class Corrected(BaseModel):
    """The answer to a correction: the correcting event, and the event it corrects."""

    event_id: uuid.UUID
    corrects: uuid.UUID
    stream_version: int


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
    corrections: list[dict[str, Any]] = Field(
        default_factory=list, description="ServiceCorrected events that followed it, oldest first (the record itself is never edited)"
    )


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
