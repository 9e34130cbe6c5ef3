"""Personal data and places, checked the way the national rules define them.

The 18-digit citizen ID number (公民身份号码, GB 11643-1999): a 6-digit address code, the birth
date (YYYYMMDD), a 3-digit sequence whose parity is the sex (odd: male, even: female), and a
check digit (ISO 7064 MOD 11-2; 10 is written X).
"""

from __future__ import annotations

import re
from datetime import date

from platform_kit.auth import normalise_id_number as _fold_id_number
from platform_kit.logs import mask_personal_text
from platform_kit.problems import Refusal


DISTRICT_PLACE = "370402"  # 市中区, 枣庄市, 山东省
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# Province-level codes (the first two digits of every place code and ID number).
PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)
_ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")  # ASCII only: \d would let another script's digits through
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NAME_FORBIDDEN = re.compile(r"[\d\x00-\x1f@#$%^&*()_+=<>{}\[\]|\\/;:\"?!]")


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalise_id_number(value: str) -> str:
    """Full-width digits (and a full-width or lower-case x) folded to ASCII, so that one person
    typed two ways is one ID number (one digest, one registration). What cannot be folded is
    returned trimmed for the shape check to refuse with its reason."""
    try:
        return _fold_id_number(value)
    except ValueError:
        return value.strip().upper()


def check_id_number(value: str, *, birth_date: date, sex: str, field: str = "id_number") -> str:
    """The ID number, normalised, if it is well formed and agrees with ``birth_date`` and ``sex``."""
    number = normalise_id_number(value)
    if not _ID_SHAPE.match(number):
        raise Refusal(field, "must be 18 characters: 17 digits and a check digit (0-9 or X)")
    if int(number[:2]) not in PROVINCES:
        raise Refusal(field, f"the address code starts with {number[:2]}, which is no province")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise Refusal(field, "characters 7-14 are not a calendar date") from None
    if number[17] != check_digit(number[:17]):
        raise Refusal(field, "the check digit does not match the other 17 digits")
    if born != birth_date:
        raise Refusal(field, f"holds the birth date {born.isoformat()}, but birth_date is {birth_date.isoformat()}")
    coded_sex = "male" if int(number[16]) % 2 else "female"
    if coded_sex != sex:
        raise Refusal(field, f"its 17th digit says {coded_sex}, but sex is {sex}")
    return number


def check_phone(value: str, field: str = "phone") -> str:
    phone = re.sub(r"[\s()]", "", value).removeprefix("+86")
    if not (_MOBILE.match(phone) or _LANDLINE.match(phone)):
        raise Refusal(field, "must be a mainland mobile number (11 digits, 1[3-9]...) or a landline (0632-1234567)")
    return phone


def check_name(value: str, field: str = "name") -> str:
    name = " ".join(value.split())
    if not name:
        raise Refusal(field, "must not be empty")
    if len(name) > 40:
        raise Refusal(field, "must be at most 40 characters")
    if _NAME_FORBIDDEN.search(name):
        raise Refusal(field, "may hold letters, Chinese characters, spaces, '·' and '-' only")
    return name


def is_in_district(place: str) -> bool:
    return place.startswith(DISTRICT_PLACE)


def check_place(value: str, field: str) -> str:
    if int(value[:2]) not in PROVINCES:
        raise Refusal(field, f"{value} starts with {value[:2]}, which is no province")
    return value


def check_free_text(value: str, field: str) -> str:
    """Free text travels in clear on Kafka: it must not carry an ID number or a phone number,
    nor control characters (a NUL byte cannot even be stored)."""
    if _CONTROL.search(value):
        raise Refusal(field, "must not hold control characters")
    if mask_personal_text(value) != value:
        raise Refusal(field, "looks like it holds an ID number or a phone number; personal data must not travel in clear")
    return value
