"""What staff and departments ask of the registry: its commands.

Commands are validated by pydantic for shape (types, lengths, code patterns); what the
registry knows decides the rest (``registry.domain``). Personal data (name, ID number, phone)
arrives in clear only here, over HTTP, and is sealed before anything is stored or published.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from platform_kit.contract.common import FILLED, PlaceCode, UnitCode, filled
from platform_kit.contract.registry import BirthReporter, MaritalStatus, Population, Sex, VerificationKind


def _folded(value: object) -> object:
    """A full-width ID number looks up the same person as its ASCII spelling."""
    from registry.domain.identity import normalise_id_number

    return normalise_id_number(value) if isinstance(value, str) else value


# Typed as people type it (full-width digits, a lower-case x, blanks around it) and folded before
# its shape is checked; the pattern is the document's promise: 18 blanks passed the lengths
# there and were refused here once they were stripped.
IdNumberTyped = Annotated[
    str, Field(min_length=18, max_length=18, pattern=r"^[0-9]{17}[0-9Xx]$"), BeforeValidator(_folded)
]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ResidentCommand(Command):
    """A command on one resident's stream."""

    occurred_at: AwareDatetime | None = Field(
        None, description="business time, when it happened (default: now); never in the future"
    )
    expected_version: int | None = Field(
        None, ge=0, description="refuse with 409 unless the resident's stream is at this version (optimistic concurrency)"
    )


class RegisterResident(Command):
    """属地化管理: register a person in the village or community where they now live."""

    name: str = Field(min_length=1, max_length=40, pattern=FILLED)
    id_number: IdNumberTyped | None = Field(
        None,
        description="18-digit citizen ID number; its birth date, sex and check digit must agree; required from age 16",
    )
    phone: str | None = Field(None, max_length=20, description="mainland mobile or landline")
    sex: Sex
    birth_date: date
    marital_status: MaritalStatus
    population: Population = Field(description="migrant: 户籍地 outside 市中区; registered: 户籍地 inside it")
    household_registration_place: PlaceCode = Field(description="户籍地 place code")
    unit_code: UnitCode = Field(description="the village or community where the person lives")
    arrived_from: PlaceCode | None = Field(None, description="where the person lived before, if not the 户籍地")
    mother_resident_id: uuid.UUID | None = Field(None, description="for a child: the mother, a resident")
    currently_pregnant: bool = Field(False, description="makes the arrival's verification request urgent (15 days)")
    occurred_at: AwareDatetime | None = Field(None, description="when the person arrived (default: now)")


class MoveResident(ResidentCommand):
    to_unit: UnitCode
    from_unit: UnitCode | None = Field(None, description="if given, must be where the registry has the resident")


class DepartResident(ResidentCommand):
    from_unit: UnitCode | None = Field(None, description="if given, must be where the registry has the resident")
    destination_place: PlaceCode | None = Field(None, description="where the person goes, outside 市中区")
    reason: str = Field(min_length=1, max_length=200, pattern=FILLED)
    currently_pregnant: bool = Field(False, description="makes the departure's verification request urgent (15 days)")


class ChangeMaritalStatus(ResidentCommand):
    marital_status: MaritalStatus
    previous: MaritalStatus | None = Field(None, description="if given, must be the status the registry has")
    spouse_resident_id: uuid.UUID | None = Field(
        None, description="on a marriage: the spouse, a resident of the registry (the couple is served as one)"
    )


class CorrectRecord(ResidentCommand):
    """纠正错误: a registration, move or marital change of this resident was entered wrong. Give
    the event it corrects, why, and only what was wrong; the rest is restated from the record."""

    corrects: uuid.UUID = Field(description="the event_id of the registration, move or marital change to correct")
    reason: str = Field(min_length=3, max_length=500, pattern=filled(3), description="why, in your own words (no personal data)")
    withdrawn: bool = Field(False, description="the move did not happen at all (moves only)")
    occurred_at: AwareDatetime | None = Field(
        None, description="the right business time of the corrected event, if that is what was wrong"
    )
    sex: Sex | None = None
    birth_date: date | None = None
    marital_status: MaritalStatus | None = None
    population: Population | None = None
    unit_code: UnitCode | None = Field(None, description="a registration's right village or community")
    to_unit: UnitCode | None = Field(None, description="a move's right village or community")


class PlanPregnancy(ResidentCommand):
    planned_from: date
    partner_resident_id: uuid.UUID | None = None


class IssueResidencePermit(ResidentCommand):
    permit_ref: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")
    issued_on: date
    valid_until: date


class ReportBirth(ResidentCommand):
    """A birth, reported on the mother. The newborn becomes a resident too, unless the birth
    is already known (another reporter's report of the same child links to it)."""

    birth_date: date
    sex: Sex
    reported_by: BirthReporter
    report_ref: str = Field(min_length=1, max_length=100, pattern=FILLED)
    child_name: str | None = Field(None, max_length=40)
    child_resident_id: uuid.UUID | None = Field(
        None, description="the child, when already registered (e.g. found by a sweep): the report is linked to them"
    )


class EnrolChild(ResidentCommand):
    school_name: str = Field(min_length=1, max_length=100, pattern=FILLED)
    school_year: int = Field(ge=2000, le=2100)
    grade: int = Field(ge=1, le=9)


class ErasePersonalData(ResidentCommand):
    reason: str = Field(min_length=1, max_length=200, pattern=FILLED)


class RequestVerification(ResidentCommand):
    """协查: ask another place to verify a fact about a resident, or record that it asked us."""

    direction: Literal["outgoing", "incoming"] = "outgoing"
    kind: VerificationKind
    counterpart_place: PlaceCode
    subject: str = Field(min_length=1, max_length=200, pattern=FILLED)
    requested_on: date | None = Field(None, description="default: today")


class ReplyToVerification(Command):
    replied_on: date
    outcome: Literal["confirmed", "not_confirmed", "unknown_person"]
    note: str = Field("", max_length=500)
    expected_version: int | None = Field(None, ge=0)


class RunSweep(Command):
    """清理清查 of a village, a town or the whole district: children born since ``born_since``
    who live there without a birth record are 漏报出生."""

    unit_code: UnitCode
    born_since: date | None = Field(None, description="default: 1 January of this year")


class LookUpByIdNumber(Command):
    id_number: IdNumberTyped
