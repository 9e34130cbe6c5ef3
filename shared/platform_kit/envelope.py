"""The envelope every message on every topic wears: the heart of the public contract.

Kafka key = ``stream_id``, so one stream's events stay in order on one partition.
Two clocks: ``occurred_at`` is business time (when it happened), ``recorded_at`` is system
time (when the system learned it). A birth that occurred in December but was reported in
March changes December "as occurred", yet a view "as known on 31 December" must not see it.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def nfkc(value: Any) -> Any:
    """Full-width and other compatibility forms to their plain form (strings only)."""
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


def clean_text(value: str) -> str:
    # C-speed checks, not a Python loop over every character: every string of every event
    # made or decoded passes here (it led the assessment's profile). Only a surrogate makes
    # UTF-8 encoding fail, and ASCII has none.
    if "\x00" in value:
        raise ValueError(f"contains a NUL character (U+0000) at index {value.index(chr(0))}, which cannot be stored")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError as error:
            raise ValueError(
                f"contains an unpaired surrogate (U+{ord(value[error.start]):04X}) at index {error.start}, which is not text"
            ) from None
    return value


def within_date_bounds(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"{value.isoformat()} is outside {EARLIEST_DATE.isoformat()}..{LATEST_DATE.isoformat()}")
    return value


# Business and system time between 1900-01-01 and 2100-12-31: a year-1 date would be stored
# as -infinity and refused by every consumer. (How far in the future occurred_at may be is a
# service's rule.)
BoundedDatetime = Annotated[AwareDatetime, AfterValidator(within_date_bounds)]
MAX_INT4 = 2_147_483_647  # stream_version and schema_version are PostgreSQL integers

SOURCE_PATTERN = r"^(registry|services-log|assessment|notifier|dept:[a-z][a-z-]*[a-z])$"
STREAM_ID_PATTERN = r"^[a-z][a-z0-9-]*-[A-Za-z0-9][A-Za-z0-9._:-]*$"
UNIT_CODE_PATTERN = r"^[0-9]{12}$"  # [0-9], not \d: \d accepts every script's digits
EVENT_TYPE_PATTERN = r"^[A-Z][A-Za-z0-9]+$"


def _name_the_unstorable(payload: dict[str, Any]) -> None:
    """Raise for the first string of ``payload`` that is not storable text, naming where it is."""
    stack: list[tuple[str, Any]] = [("payload", payload)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            try:
                clean_text(value)
            except ValueError as error:
                raise ValueError(f"{path}: {error}") from None
        elif isinstance(value, dict):
            for key, item in value.items():
                clean_text(str(key))
                stack.append((f"{path}.{key}", item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))


def utc_now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """One event, as stored and as published. Immutable once made."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    event_type: str = Field(pattern=EVENT_TYPE_PATTERN, max_length=80)
    schema_version: int = Field(ge=1, le=10_000)
    stream_id: str = Field(pattern=STREAM_ID_PATTERN, max_length=200)
    stream_version: int = Field(ge=1, le=MAX_INT4)
    occurred_at: BoundedDatetime
    recorded_at: BoundedDatetime
    unit_code: Annotated[str, Field(pattern=UNIT_CODE_PATTERN), BeforeValidator(nfkc)]  # NFKC, then the pattern
    source: str = Field(pattern=SOURCE_PATTERN)
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    payload: dict[str, Any]

    @field_validator("payload")
    @classmethod
    def _storable_text(cls, payload: dict[str, Any]) -> dict[str, Any]:
        """Every string in the payload (keys too) must be storable text: PostgreSQL's jsonb
        refuses NUL, and an unpaired surrogate is not UTF-8."""
        # The walk keeps no path: naming one per value cost more than the checks (every event
        # decoded passes here). Only a refused payload is walked again, to name the field.
        stack: list[Any] = [payload]
        try:
            while stack:
                value = stack.pop()
                if isinstance(value, str):
                    clean_text(value)
                elif isinstance(value, dict):
                    for key, item in value.items():
                        clean_text(str(key))
                        stack.append(item)
                elif isinstance(value, list):
                    stack.extend(value)
        except ValueError:
            _name_the_unstorable(payload)
            raise
        return payload

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
