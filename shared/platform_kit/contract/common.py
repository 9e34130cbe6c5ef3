"""Value types that several event types share."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator



def _ascii_digits(value: object) -> object:
    # A code typed with a Chinese input method arrives in full-width digits (３７０４…); NFKC makes
    # them ASCII. Other scripts' digits (٣٧٠…) stay as they are and fail the [0-9] pattern, which
    # \d would have let through.
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


# The normaliser after the Field: a before-validator listed last runs first, and the pattern
# stays in the JSON Schema (listed first, it drops out of the documents).
UnitCode = Annotated[
    str, Field(pattern=r"^[0-9]{12}$", description="12-digit statistical division code (统计用区划代码)"),
    BeforeValidator(_ascii_digits),
]
PlaceCode = Annotated[
    str, Field(pattern=r"^[0-9]{6}([0-9]{3}|[0-9]{6})?$", description="a place outside or inside the district: 6, 9 or 12 digits"),
    BeforeValidator(_ascii_digits),
]
ResidentId = uuid.UUID
# The dates a payload may carry: a resident born in 1900 to a permit valid until 2100. Beyond
# them a value is a typing error (0001-01-01, 9999-12-31), not a fact about 市中区.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2100, 12, 31)


def _texts(value: object):
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)


class Payload(BaseModel):
    """Payloads are strict: an unknown field is an error, not something silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: object) -> object:
        """Text PostgreSQL can store and dates within the contract's bounds, for every field
        of every payload: a NUL or an unpaired surrogate would fail the append on every
        redelivery; a date like 0001-01-01 would be believed."""
        for text in _texts(value):
            if "\x00" in text:
                raise ValueError("holds a NUL character, which cannot be stored")
            if any("\ud800" <= c <= "\udfff" for c in text):
                raise ValueError("holds an unpaired surrogate, which is not text")
        day = value.date() if isinstance(value, datetime) else value
        if isinstance(day, date) and not EARLIEST_DATE <= day <= LATEST_DATE:
            raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
        return value


class EncryptedPersonalData(Payload):
    """Name, ID number and phone, sealed with the person's own key (AES-GCM).

    Only the registry holds the keys; erasing a person deletes the key, and every copy of
    this blob, in the store or on Kafka, becomes unreadable (crypto-shredding).
    """

    key_id: uuid.UUID
    nonce: str = Field(description="base64")
    ciphertext: str = Field(description="base64 of the AES-GCM sealed JSON document")
