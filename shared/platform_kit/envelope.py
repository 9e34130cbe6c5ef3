"""The envelope every message on every topic wears: the heart of the public contract.

Kafka key = ``stream_id``, so one stream's events stay in order on one partition.
Two clocks: ``occurred_at`` is business time (when it happened), ``recorded_at`` is system
time (when the system learned it). A birth that occurred in December but was reported in
March changes December "as occurred", yet a view "as known on 31 December" must not see it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SOURCE_PATTERN = r"^(registry|services-log|assessment|notifier|dept:[a-z][a-z-]*[a-z])$"
STREAM_ID_PATTERN = r"^[a-z][a-z0-9-]*-[A-Za-z0-9][A-Za-z0-9._:-]*$"
UNIT_CODE_PATTERN = r"^[0-9]{12}$"  # [0-9]: \d matches any script's digits
EVENT_TYPE_PATTERN = r"^[A-Z][A-Za-z0-9]+$"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """One event, as stored and as published. Immutable once made."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    event_type: str = Field(pattern=EVENT_TYPE_PATTERN, max_length=80)
    schema_version: int = Field(ge=1)
    stream_id: str = Field(pattern=STREAM_ID_PATTERN, max_length=200)
    stream_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    unit_code: str = Field(pattern=UNIT_CODE_PATTERN)
    source: str = Field(pattern=SOURCE_PATTERN)
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    payload: dict[str, Any]

    @classmethod
    def new(
        cls,
        *,
        event_type: str,
        stream_id: str,
        stream_version: int,
        unit_code: str,
        source: str,
        payload: dict[str, Any],
        occurred_at: datetime,
        recorded_at: datetime | None = None,
        schema_version: int = 1,
        correlation_id: uuid.UUID | None = None,
        causation_id: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
    ) -> Envelope:
        """Make a new event; its id is fresh and it is recorded now unless told otherwise."""
        new_id = event_id or uuid.uuid4()
        return cls(
            event_id=new_id,
            event_type=event_type,
            schema_version=schema_version,
            stream_id=stream_id,
            stream_version=stream_version,
            occurred_at=occurred_at,
            recorded_at=recorded_at or utc_now(),
            unit_code=unit_code,
            source=source,
            correlation_id=correlation_id or new_id,
            causation_id=causation_id,
            payload=payload,
        )

    def caused(self, **fields: Any) -> Envelope:
        """A new event caused by this one: it inherits the correlation and names its cause."""
        fields.setdefault("correlation_id", self.correlation_id or self.event_id)
        fields.setdefault("causation_id", self.event_id)
        return Envelope.new(**fields)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes | str) -> Envelope:
        return cls.model_validate_json(data)

    @property
    def key(self) -> bytes:
        return self.stream_id.encode()
