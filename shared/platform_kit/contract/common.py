"""Value types that several event types share.

Hygiene every contract field gets from these types: codes typed by people are NFKC-normalised
before they are validated (full-width digits '３７０４０２…' become ASCII), and patterns use
``[0-9]``, never ``\\d`` (which accepts any script's digits); dates lie between 1900-01-01 and
2100-12-31 (a ``0001-01-01`` would be stored as ``-infinity``); free text refuses NUL
(PostgreSQL cannot store it) and unpaired surrogates (not UTF-8), naming the reason.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from platform_kit.envelope import EARLIEST_DATE, LATEST_DATE, clean_text, nfkc, within_date_bounds

__all__ = ["EARLIEST_DATE", "LATEST_DATE", "clean_text", "nfkc", "within_date_bounds"]

def _id_number(value: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(value[:17], weights, strict=True)) % 11]
    if value[17] != check:
        raise ValueError(f"check digit is {value[17]}, the first 17 digits call for {check}")
    return value


Text = Annotated[str, AfterValidator(clean_text)]
def filled(least: int = 1) -> str:
    """The pattern of free text that says something: ``least`` characters at least from its first
    character that is not white space to its last. A command model that strips white space before
    it counts characters states this in its document, so that what the document calls valid
    ("\\u000b" is one character long) is never refused as too short once stripped."""
    return r"\S" if least <= 1 else rf"\S[\s\S]{{{least - 2},}}\S"


FILLED = filled(1)
ContractDate = Annotated[date, AfterValidator(within_date_bounds)]
UnitCode = Annotated[
    str,
    Field(pattern=r"^[0-9]{12}$", description="12-digit statistical division code (统计用区划代码)"),
    BeforeValidator(nfkc),  # applied first: full-width digits become ASCII, then the pattern
]
PlaceCode = Annotated[
    str,
    Field(pattern=r"^[0-9]{6}([0-9]{3}|[0-9]{6})?$", description="a place outside or inside the district: 6, 9 or 12 digits"),
    BeforeValidator(nfkc),
]
IdNumber = Annotated[
    str,
    Field(pattern=r"^[0-9]{17}[0-9X]$", description="18-character resident ID number (居民身份证号码)"),
    AfterValidator(_id_number),
    BeforeValidator(lambda v: nfkc(v).upper() if isinstance(v, str) else v),
]
Count = Annotated[int, Field(ge=0, le=100_000_000)]
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
    nonce: str = Field(max_length=64, pattern=r"^[A-Za-z0-9+/=]*$", description="base64")
    ciphertext: str = Field(
        max_length=65_536, pattern=r"^[A-Za-z0-9+/=]*$", description="base64 of the AES-GCM sealed JSON document"
    )
