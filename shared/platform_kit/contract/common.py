"""Value types that several event types share."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

UnitCode = Annotated[str, Field(pattern=r"^\d{12}$", description="12-digit statistical division code (统计用区划代码)")]
PlaceCode = Annotated[
    str, Field(pattern=r"^\d{6}(\d{3}|\d{6})?$", description="a place outside or inside the district: 6, 9 or 12 digits")
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
