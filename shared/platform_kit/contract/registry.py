"""Events the registry publishes on ``registry.events``: who lives where, and what other
places were told or asked (流入地/流出地).

Personal data (name, ID number, phone) travels only inside ``EncryptedPersonalData``, sealed
with the person's own key; no other field may hold it.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from platform_kit.contract import catalogue
from platform_kit.contract.common import (
    ContractDate,
    EncryptedPersonalData,
    Payload,
    PlaceCode,
    ResidentId,
    Text,
    UnitCode,
)

Sex = Literal["female", "male"]
MaritalStatus = Literal["unmarried", "married", "divorced", "widowed"]
Population = Literal["migrant", "registered"]  # 流动人口 / 户籍人口
BirthReporter = Literal["family", "hospital", "community"]
VerificationKind = Literal[
    "marriage_childbearing_certificate",  # 婚育证明 check: reply within 7 days
    "current_pregnancy",  # urgent: reply within 15 days
    "ordinary",  # reply within 30 days
]


@catalogue.event("ResidentRegistered")
class ResidentRegistered(Payload):
    resident_id: ResidentId
    sex: Sex
    birth_date: ContractDate
    marital_status: MaritalStatus
    population: Population
    household_registration_place: PlaceCode = Field(description="户籍地")
    unit_code: UnitCode = Field(description="where the resident lives (属地化管理: this unit serves them)")
    arrived_from: PlaceCode | None = None
    personal: EncryptedPersonalData
    mother_resident_id: ResidentId | None = Field(None, description="for a child: the mother, when known")
    via: Literal["registration", "birth_report"] = Field(
        "registration", description="registered by staff, or created by a birth report (the newborn)"
    )
    person_id: ResidentId | None = Field(
        None,
        description="the stable person key: the resident id of this person's first registration, set when a person "
        "who left the district is registered again (same ID number); absent for a first registration. "
        "One person, however often they return (figures count them once)",
    )


@catalogue.event("ResidentMoved")
class ResidentMoved(Payload):
    resident_id: ResidentId
    from_unit: UnitCode
    to_unit: UnitCode


@catalogue.event("ResidentDeparted")
class ResidentDeparted(Payload):
    resident_id: ResidentId
    from_unit: UnitCode
    destination_place: PlaceCode | None = None
    reason: Text = Field(max_length=200)


@catalogue.event("MaritalStatusChanged")
class MaritalStatusChanged(Payload):
    resident_id: ResidentId
    previous: MaritalStatus
    marital_status: MaritalStatus
    spouse_resident_id: ResidentId | None = Field(
        None, description="on a marriage, the spouse when registered here: the couple is served as one (contraceptives)"
    )


@catalogue.event("PregnancyPlanned")
class PregnancyPlanned(Payload):
    resident_id: ResidentId
    partner_resident_id: ResidentId | None = None
    planned_from: ContractDate


@catalogue.event("BirthReported")
class BirthReported(Payload):
    mother_resident_id: ResidentId
    child_resident_id: ResidentId
    birth_date: ContractDate
    sex: Sex
    reported_by: BirthReporter
    report_ref: Text = Field(max_length=100, description="the reporter's own reference, e.g. a hospital record number")


CorrectableType = Literal["ResidentRegistered", "ResidentMoved", "MaritalStatusChanged"]
CorrectedField = Literal["happened_at", "unit_code", "sex", "birth_date", "marital_status", "population", "from_unit", "to_unit"]
CORRECTED_FIELDS: dict[str, tuple[str, ...]] = {  # what each corrected event's right version states
    "ResidentRegistered": ("unit_code", "sex", "birth_date", "marital_status", "population"),
    "ResidentMoved": ("from_unit", "to_unit"),
    "MaritalStatusChanged": ("marital_status",),
}


@catalogue.event("ResidentRecordCorrected")
class ResidentRecordCorrected(Payload):
    """A registration, move or marital change on this resident's stream was entered wrong (纠正错误:
    a wrong birth date, status or unit, a move on the wrong day, or a move that never happened).
    History is never edited: the correction follows on the same stream, names the event it
    corrects, states that event's right version in full (the unchanged fields restated, so it
    reads alone) and names what was wrong (``changed``), or is ``withdrawn`` for a move that did
    not happen. A later correction of the same event replaces
    an earlier one. The envelope's ``occurred_at`` is the earlier of the two versions' business
    times (so the correction is seen "as occurred" whenever either version is); its
    ``recorded_at`` says since when it is known."""

    resident_id: ResidentId
    corrects: uuid.UUID = Field(description="the event_id of the event this corrects, on this resident's stream")
    corrected_type: CorrectableType = Field(description="the corrected event's type")
    reason: Text = Field(min_length=3, max_length=500, description="why, in the staff member's words (no personal data)")
    withdrawn: bool = Field(False, description="true: the move did not happen at all (moves only)")
    changed: list[CorrectedField] = Field(
        default_factory=list, max_length=6,
        description="what was wrong: the fields (and happened_at) whose right value differs from what was entered",
    )
    happened_at: AwareDatetime | None = Field(
        None, description="the right business time of the corrected event (restated if it was right); null when withdrawn"
    )
    unit_code: UnitCode | None = Field(None, description="registration: where the person was registered")
    sex: Sex | None = Field(None, description="registration")
    birth_date: ContractDate | None = Field(None, description="registration")
    marital_status: MaritalStatus | None = Field(None, description="registration, or the marital change's new status")
    population: Population | None = Field(None, description="registration")
    from_unit: UnitCode | None = Field(None, description="move")
    to_unit: UnitCode | None = Field(None, description="move")

    @model_validator(mode="after")
    def _one_version(self) -> ResidentRecordCorrected:
        stated = {name for name in ALL_CORRECTED_FIELDS if getattr(self, name) is not None}
        if self.withdrawn:
            if self.corrected_type != "ResidentMoved":
                raise ValueError("withdrawn: only a move can be withdrawn (a registration is ended by a departure)")
            if stated or self.happened_at is not None or self.changed:
                raise ValueError("withdrawn: a withdrawn move states no right version")
            return self
        wanted = set(CORRECTED_FIELDS[self.corrected_type])
        if missing := sorted(wanted - stated):
            raise ValueError(f"{missing[0]}: required to correct a {self.corrected_type} (its right version in full)")
        if extra := sorted(stated - wanted):
            raise ValueError(f"{extra[0]}: not a field of {self.corrected_type}")
        if self.happened_at is None:
            raise ValueError(f"happened_at: required to correct a {self.corrected_type}")
        if not self.changed:
            raise ValueError("changed: name what was wrong")
        if wrong := [name for name in self.changed if name != "happened_at" and name not in wanted]:
            raise ValueError(f"changed: {wrong[0]} is not a field of {self.corrected_type}")
        return self

    def right_version(self) -> dict[str, object]:
        """The corrected event's fields as they should have read (empty when withdrawn)."""
        return {name: getattr(self, name) for name in CORRECTED_FIELDS[self.corrected_type] if not self.withdrawn}


ALL_CORRECTED_FIELDS = tuple(dict.fromkeys(f for fields in CORRECTED_FIELDS.values() for f in fields))


@catalogue.event("ChildEnrolled")
class ChildEnrolled(Payload):
    child_resident_id: ResidentId
    school_name: Text = Field(max_length=100)
    school_year: int = Field(ge=2000, le=2100)
    grade: int = Field(ge=1, le=9, description="compulsory education: grades 1-9")


@catalogue.event("ResidencePermitIssued")
class ResidencePermitIssued(Payload):
    resident_id: ResidentId
    permit_ref: Text = Field(max_length=40)
    issued_on: ContractDate
    valid_until: ContractDate


@catalogue.event("BirthDiscrepancyFound")
class BirthDiscrepancyFound(Payload):
    discrepancy_id: uuid.UUID
    kind: Literal["hospital_report_without_registry_birth", "child_without_birth_record"]
    mother_resident_id: ResidentId | None = None
    child_resident_id: ResidentId | None = None
    birth_date: ContractDate | None = None
    found_by: Literal["reconciliation", "sweep"]
    detail: Text = Field(max_length=500)


@catalogue.event("PersonalDataErased")
class PersonalDataErased(Payload):
    """The person's key was deleted (crypto-shredding): every sealed copy of their name, ID
    number and phone, in the store or on Kafka, is unreadable from now on. They still count."""

    resident_id: ResidentId
    key_id: uuid.UUID
    reason: Text = Field(max_length=200)


@catalogue.event("CrossRegionNoticeRaised")
class CrossRegionNoticeRaised(Payload):
    """The other place must be told (流入地 tells 户籍地 of an arrival; a departure is told to
    where the person goes). The notifier delivers it."""

    notice_id: uuid.UUID
    resident_id: ResidentId
    movement: Literal["arrival", "departure"]
    counterpart_place: PlaceCode
    counterpart_role: Literal["household_registration_place", "destination_place"]


@catalogue.event("VerificationRequested")
class VerificationRequested(Payload):
    """A verification request (协查) between the district and another place, with the reply
    deadline the national platform's rules give its kind (7, 15 or 30 days)."""

    request_id: uuid.UUID
    resident_id: ResidentId
    direction: Literal["outgoing", "incoming"] = Field(
        description="outgoing: the district asks the other place; incoming: the other place asks the district"
    )
    kind: VerificationKind
    counterpart_place: PlaceCode
    subject: Text = Field(max_length=200, description="what is to be verified")
    requested_on: ContractDate
    due_on: ContractDate
    raised_by: Literal["arrival", "departure", "staff"]


@catalogue.event("VerificationReplied")
class VerificationReplied(Payload):
    request_id: uuid.UUID
    resident_id: ResidentId
    replied_on: ContractDate
    outcome: Literal["confirmed", "not_confirmed", "unknown_person"]
    note: Text = Field("", max_length=500)
    days_late: int = Field(ge=0, le=100_000_000, description="0 when the reply came by the deadline")


@catalogue.event("PersonalDataRead")
class PersonalDataRead(Payload):
    """Who saw a person's data in clear (docs/security.md): the registry appends one on every
    view of a resident's name, ID number and phone, on the stream ``personal-reads-<resident id>``.
    The payload is what ``platform_kit.auth.record_personal_read`` makes (which refuses a
    subject or purpose holding a phone or ID number); it is restated here because the auth kit
    imports the problems module, which imports the contract."""

    reader: str = Field(min_length=1, max_length=200, description="the token's `sub`")
    reader_role: Literal["district", "town", "village", "department", "auditor"]
    reader_units: list[str] = Field(max_length=200, description="the reader's units (or department)")
    what: str = Field(min_length=1, max_length=200, description="resident.personal, resident.id_number...")
    subject: str = Field(max_length=200, pattern=r"^[a-z][a-z0-9-]*-[A-Za-z0-9-]+$", description="the subject's stream id")
    why: str = Field(min_length=3, max_length=500, description="the purpose the reader gave")
    read_at: AwareDatetime


TaskKind = Literal[
    "enrol_child",  # education: a migrant child of compulsory-school age not enrolled (100%入学)
    "pregnancy_check",  # health: a married migrant woman 15-49 due her free check where she lives
    "renew_permit",  # public security: a residence permit (居住证) about to expire
]
TaskOutcome = Literal["enrolled", "checked", "renewed", "departed", "erased"]


@catalogue.event("DepartmentTaskIssued")
class DepartmentTaskIssued(Payload):
    """Something a department must do for one resident, sent on ``tasks.<department>``. The
    person's identity (what that department needs, no more) is sealed with the department's
    own key, so only it can open it; everything else here is no one's personal data."""

    task_id: uuid.UUID
    department: Literal["education", "health", "public-security"]
    kind: TaskKind
    resident_id: ResidentId
    unit_code: UnitCode = Field(description="where the resident lives: the unit that follows the task up")
    period: Text = Field(max_length=20, description="school year (2013), quarter (2013Q3) or the permit's ref")
    due_on: ContractDate
    reply_with: Text = Field(max_length=60, description="the fact on ingest.<department> that closes the task")
    personal: EncryptedPersonalData = Field(
        description="sealed for the department (AES-GCM, key_id names its key): name and ID number; a phone for health"
    )


@catalogue.event("DepartmentTaskClosed")
class DepartmentTaskClosed(Payload):
    """The task is done (the department's reply was recorded) or moot (the resident left)."""

    task_id: uuid.UUID
    department: Literal["education", "health", "public-security"]
    kind: TaskKind
    resident_id: ResidentId
    outcome: TaskOutcome
    closed_by_event_id: uuid.UUID = Field(description="the event that closed it: the department's reply, as recorded")
