"""Value types that several event types share."""

from __future__ import annotations

import unicodedata
import uuid
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field



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


class Payload(BaseModel):
    """Payloads are strict: an unknown field is an error, not something silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EncryptedPersonalData(Payload):
    """Name, ID number and phone, sealed with the person's own key (AES-GCM).

    Only the registry holds the keys; erasing a person deletes the key, and every copy of
    this blob, in the store or on Kafka, becomes unreadable (crypto-shredding).
    """

    key_id: uuid.UUID
    nonce: str = Field(description="base64")
    ciphertext: str = Field(description="base64 of the AES-GCM sealed JSON document")
