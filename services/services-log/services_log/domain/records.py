"""A record to append: one event that opens (or continues) a record's own stream.

Each service, survey, training and association activity is its own stream, named by its id:
records are independent facts with no rule spanning two of them, so one stream per record
means no writer ever waits for another, a client-chosen id makes a retry land on the same
stream, and the record's later ResidenceResolved stays in order behind it on one partition.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from platform_kit.contract.common import Payload

STREAM_PREFIX = {
    "ServiceDelivered": "service",
    "SurveyRecorded": "survey",
    "TrainingHeld": "training",
    "AssociationActivityHeld": "association-activity",
}
ID_FIELD = {
    "ServiceDelivered": "service_id",
    "SurveyRecorded": "survey_id",
    "TrainingHeld": "training_id",
    "AssociationActivityHeld": "activity_id",
}


def stream_id(record_type: str, record_id: uuid.UUID) -> str:
    return f"{STREAM_PREFIX[record_type]}-{record_id}"


@dataclass(frozen=True, slots=True)
class NewEvent:
    event_type: str
    stream_id: str
    stream_version: int
    unit_code: str
    occurred_at: datetime
    payload: Payload
    awaits_resident: uuid.UUID | None = None  # recorded before the registry told us of them

    @property
    def record_id(self) -> uuid.UUID:
        return getattr(self.payload, ID_FIELD.get(self.event_type, "record_id"))


@dataclass(frozen=True, slots=True)
class AwaitingRecord:
    """A service or survey recorded while its resident was not yet known to us."""

    record_type: str
    record_id: uuid.UUID
    stream_id: str
    stream_version: int
    resident_id: uuid.UUID
    unit_code: str
    occurred_at: datetime
    recorded_at: datetime
    correlation_id: uuid.UUID | None = None
