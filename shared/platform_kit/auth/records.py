"""Every read of a person's data in clear is recorded: who, what, about whom, when and why.

The services append :class:`PersonalDataRead` to their own event store (event type
``PersonalDataRead``, schema version 1, stream ``personal-reads-<unit_code>`` or the
subject's own stream); an auditor can then answer "who looked at this person, and why".
The record names the subject by its stream id, never by name or ID number.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from platform_kit.auth.principal import Principal, Role

# A run of 11 digits or more is a phone or an ID number: never part of a record. A UUID is not
# (its last group can be 11 or 12 decimal digits by chance: about one resident id in 600), so
# UUIDs are taken out before looking.
_PERSONAL_DIGITS = re.compile(r"\d{11,}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class PersonalDataRead(BaseModel):
    """Someone saw a person's data in clear (contract: event type ``PersonalDataRead``, v1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reader: str = Field(min_length=1, max_length=200, description="the token's `sub`")
    reader_role: Role
    reader_units: tuple[str, ...] = Field(description="the reader's units (or department), as the token named them")
    what: str = Field(min_length=1, max_length=200, description="which data: 'resident.id_number', 'resident.contact'...")
    subject: str = Field(
        min_length=1, max_length=200, pattern=r"^[a-z][a-z0-9-]*-[A-Za-z0-9-]+$",
        description="whose: the subject's stream id (resident-<uuid>), never a name or an ID number",
    )
    why: str = Field(min_length=3, max_length=500, description="the purpose the reader gave (follow-up visit, permit check...)")
    read_at: AwareDatetime

    @field_validator("subject", "why", "what")
    @classmethod
    def _no_personal_digits(cls, value: str) -> str:
        if _PERSONAL_DIGITS.search(_UUID.sub("", value)):
            raise ValueError("must not contain a phone or ID number")
        return value


def record_personal_read(
    principal: Principal, what: str, subject: str, why: str, *, at: datetime | None = None
) -> dict[str, object]:
    """The payload of a ``PersonalDataRead`` event, ready for the service to append.
    ``at`` is the service's clock (``runtime.clock.now()``); the machine's when omitted."""
    record = PersonalDataRead(
        reader=principal.sub, reader_role=principal.role, reader_units=principal.units,
        what=what, subject=subject, why=why, read_at=at or datetime.now(UTC),
    )
    return record.model_dump(mode="json")
