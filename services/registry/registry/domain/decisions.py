"""Given a resident's history and a command: which events, or why not.

Pure functions: no I/O, no clock of their own (``Context`` brings the time and fresh ids).
HTTP and the department ingest call the same functions, so a department's fact is held to the
same rules as a village manager's entry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from platform_kit.contract.common import EncryptedPersonalData
from platform_kit.contract.registry import (
    BirthReported,
    ChildEnrolled,
    MaritalStatusChanged,
    PersonalDataErased,
    PregnancyPlanned,
    ResidencePermitIssued,
    ResidentDeparted,
    ResidentMoved,
    ResidentRegistered,
)
from platform_kit.problems import Refusal
from platform_kit.calendar import age_on, local_date, start_of

from registry.domain.errors import AlreadyRecorded
from registry.domain.exchange import kind_for, movement_facts
from registry.domain.facts import Context, Fact
from registry.domain.identity import (
    check_free_text,
    check_id_number,
    check_name,
    check_phone,
    check_place,
    is_in_district,
)
from registry.domain.resident import Child, Resident, resident_stream
from registry.domain.commands import (
    ChangeMaritalStatus,
    DepartResident,
    EnrolChild,
    ErasePersonalData,
    IssueResidencePermit,
    MoveResident,
    PlanPregnancy,
    RegisterResident,
    ReportBirth,
)

EARLIEST_BIRTH = date(1900, 1, 1)
MARRIAGE_AGE = {"female": 20, "male": 22}  # 婚姻法: the legal minimum age of marriage
CHILDBEARING_AGES = range(15, 50)  # 育龄: 15-49
ID_NUMBER_FROM_AGE = 16  # the age from which an ID card is compulsory
SCHOOL_AGES = range(6, 17)  # compulsory education (grades 1-9) from 6, with repeaters up to 16
MOTHER_AGES = range(12, 61)


@dataclass(frozen=True, slots=True)
class PersonalData:
    """Name, ID number and phone in clear: only ever sealed, never stored or published as is."""

    name: str | None
    id_number: str | None = None
    phone: str | None = None

    def __repr__(self) -> str:  # a stray log of the object must not print it
        return "PersonalData(***)"


def personal_data(cmd: RegisterResident, ctx: Context) -> PersonalData:
    """The person's name, ID number and phone, checked against each other and the command."""
    birth_date = _birth_date(cmd.birth_date, ctx)
    id_number = None
    if cmd.id_number is not None:
        id_number = check_id_number(cmd.id_number, birth_date=birth_date, sex=cmd.sex)
    elif age_on(birth_date, ctx.today) >= ID_NUMBER_FROM_AGE:
        raise Refusal("id_number", f"is required from age {ID_NUMBER_FROM_AGE}")
    phone = check_phone(cmd.phone) if cmd.phone else None
    return PersonalData(name=check_name(cmd.name), id_number=id_number, phone=phone)


def register(
    cmd: RegisterResident,
    ctx: Context,
    *,
    resident_id: uuid.UUID,
    sealed: EncryptedPersonalData,
    mother: Resident | None = None,
) -> list[Fact]:
    birth_date = _birth_date(cmd.birth_date, ctx)
    unit = ctx.village(cmd.unit_code, "unit_code")
    hukou = check_place(cmd.household_registration_place, "household_registration_place")
    if cmd.population == "migrant" and is_in_district(hukou):
        raise Refusal("household_registration_place", f"{hukou} is inside 市中区, so the person is not a migrant")
    if cmd.population == "registered" and not is_in_district(hukou):
        raise Refusal("household_registration_place", f"{hukou} is outside 市中区, so the person is a migrant")
    arrived_from = check_place(cmd.arrived_from, "arrived_from") if cmd.arrived_from else None
    when = ctx.when(cmd.occurred_at, not_before=start_of(birth_date), what="the person's birth")
    _marriageable(cmd.marital_status, cmd.sex, birth_date, local_date(when))
    if cmd.mother_resident_id is not None:
        if mother is None:
            raise Refusal("mother_resident_id", f"no resident {cmd.mother_resident_id} in the registry")
        _can_be_mother(mother, birth_date, "mother_resident_id")
    registered = ResidentRegistered(
        resident_id=resident_id, sex=cmd.sex, birth_date=birth_date, marital_status=cmd.marital_status,
        population=cmd.population, household_registration_place=hukou, unit_code=unit,
        arrived_from=arrived_from, personal=sealed, mother_resident_id=cmd.mother_resident_id,
    )
    stream = resident_stream(resident_id)
    facts = [Fact(stream, registered, when, unit)]
    if cmd.population == "migrant":
        on = local_date(when)
        facts += movement_facts(
            resident_id=resident_id, resident_stream=stream, movement="arrival", counterpart_place=hukou,
            kind=kind_for(cmd.sex, birth_date, cmd.marital_status, on, currently_pregnant=cmd.currently_pregnant),
            unit_code=unit, occurred_at=when, on=on, ctx=ctx,
        )
    return facts


def move(r: Resident, cmd: MoveResident, ctx: Context) -> list[Fact]:
    _living(r)
    to_unit = ctx.village(cmd.to_unit, "to_unit")
    if cmd.from_unit is not None and cmd.from_unit != r.unit_code:
        raise Refusal("from_unit", f"the resident lives in {r.unit_code} ({ctx.unit_name(r.unit_code)}), not {cmd.from_unit}")
    if to_unit == r.unit_code:
        raise Refusal("to_unit", f"the resident already lives in {to_unit} ({ctx.unit_name(to_unit)})")
    when = ctx.when(cmd.occurred_at, not_before=r.registered_at, what="the resident's registration")
    moved = ResidentMoved(resident_id=r.resident_id, from_unit=r.unit_code, to_unit=to_unit)
    return [Fact(r.stream_id, moved, when, to_unit)]


def depart(r: Resident, cmd: DepartResident, ctx: Context) -> list[Fact]:
    _living(r)
    if cmd.from_unit is not None and cmd.from_unit != r.unit_code:
        raise Refusal("from_unit", f"the resident lives in {r.unit_code} ({ctx.unit_name(r.unit_code)}), not {cmd.from_unit}")
    destination = None
    if cmd.destination_place is not None:
        destination = check_place(cmd.destination_place, "destination_place")
        if is_in_district(destination):
            raise Refusal("destination_place", f"{destination} is inside 市中区: record a move instead")
    reason = check_free_text(cmd.reason, "reason")
    when = ctx.when(cmd.occurred_at, not_before=r.registered_at, what="the resident's registration")
    departed = ResidentDeparted(resident_id=r.resident_id, from_unit=r.unit_code, destination_place=destination, reason=reason)
    facts = [Fact(r.stream_id, departed, when, r.unit_code)]
    if destination is not None:
        on = local_date(when)
        facts += movement_facts(
            resident_id=r.resident_id, resident_stream=r.stream_id, movement="departure",
            counterpart_place=destination,
            kind=kind_for(r.sex, r.birth_date, r.marital_status, on, currently_pregnant=cmd.currently_pregnant),
            unit_code=r.unit_code, occurred_at=when, on=on, ctx=ctx,
        )
    return facts


ALLOWED_MARITAL_CHANGES = {
    "unmarried": {"married"},
    "married": {"divorced", "widowed"},
    "divorced": {"married"},
    "widowed": {"married"},
}


def change_marital_status(
    r: Resident, cmd: ChangeMaritalStatus, ctx: Context, *, spouse: Resident | None = None
) -> list[Fact]:
    _living(r)
    if cmd.spouse_resident_id is not None:
        if cmd.marital_status != "married":
            raise Refusal("spouse_resident_id", "is named only on a marriage")
        if cmd.spouse_resident_id == r.resident_id:
            raise Refusal("spouse_resident_id", "is the resident themself")
        if spouse is None:
            raise Refusal("spouse_resident_id", f"no resident {cmd.spouse_resident_id} in the registry")
    if cmd.previous is not None and cmd.previous != r.marital_status:
        raise Refusal("previous", f"the registry has the resident as {r.marital_status}, not {cmd.previous}")
    if cmd.marital_status == r.marital_status:
        raise Refusal("marital_status", f"the resident is {r.marital_status} already")
    if cmd.marital_status not in ALLOWED_MARITAL_CHANGES[r.marital_status]:
        raise Refusal("marital_status", f"cannot change from {r.marital_status} to {cmd.marital_status}")
    when = ctx.when(cmd.occurred_at, not_before=r.registered_at, what="the resident's registration")
    _marriageable(cmd.marital_status, r.sex, r.birth_date, local_date(when))
    changed = MaritalStatusChanged(
        resident_id=r.resident_id, previous=r.marital_status, marital_status=cmd.marital_status,
        spouse_resident_id=cmd.spouse_resident_id,
    )
    return [Fact(r.stream_id, changed, when, r.unit_code)]


def plan_pregnancy(r: Resident, cmd: PlanPregnancy, ctx: Context, *, partner: Resident | None = None) -> list[Fact]:
    """孕前优生: a married couple declares the pregnancy it plans (the pre-pregnancy indicators)."""
    _living(r)
    if r.marital_status != "married":
        raise Refusal("resident_id", f"the resident is {r.marital_status}; pregnancy plans are declared by married couples")
    when = ctx.when(cmd.occurred_at, not_before=r.registered_at, what="the resident's registration")
    planned = cmd.planned_from
    if not ctx.today - timedelta(days=366) <= planned <= ctx.today + timedelta(days=3 * 366):
        raise Refusal("planned_from", f"{planned.isoformat()} is not within a year before or three years after today")
    woman = r if r.sex == "female" else partner
    if woman is not None and woman.sex == "female" and age_on(woman.birth_date, planned) not in CHILDBEARING_AGES:
        raise Refusal("planned_from", f"the woman would be {age_on(woman.birth_date, planned)}, outside childbearing age (15-49)")
    if cmd.partner_resident_id is not None:
        if partner is None:
            raise Refusal("partner_resident_id", f"no resident {cmd.partner_resident_id} in the registry")
        if partner.resident_id == r.resident_id:
            raise Refusal("partner_resident_id", "is the resident themself")
        if partner.sex == r.sex or partner.marital_status != "married":
            raise Refusal("partner_resident_id", "must be a married resident of the other sex")
    if any(p.planned_from == planned for p in r.pregnancy_plans):
        raise AlreadyRecorded("planned_from", f"a plan from {planned.isoformat()} is recorded already", r.resident_id)
    plan = PregnancyPlanned(resident_id=r.resident_id, partner_resident_id=cmd.partner_resident_id, planned_from=planned)
    return [Fact(r.stream_id, plan, when, r.unit_code)]


def issue_residence_permit(r: Resident, cmd: IssueResidencePermit, ctx: Context) -> list[Fact]:
    """居住证: issued by public security to migrants living here."""
    _living(r)
    if r.population != "migrant":
        raise Refusal("resident_id", "the resident is registered population (户籍人口); residence permits are for migrants")
    issued_on = ctx.not_future(cmd.issued_on, "issued_on")
    if cmd.valid_until <= issued_on:
        raise Refusal("valid_until", f"{cmd.valid_until.isoformat()} is not after issued_on ({issued_on.isoformat()})")
    check_free_text(cmd.permit_ref, "permit_ref")
    if any(p.permit_ref == cmd.permit_ref for p in r.permits):
        raise AlreadyRecorded("permit_ref", f"permit {cmd.permit_ref} is recorded already", r.resident_id)
    when = ctx.when(cmd.occurred_at or start_of(issued_on))
    permit = ResidencePermitIssued(
        resident_id=r.resident_id, permit_ref=cmd.permit_ref, issued_on=issued_on, valid_until=cmd.valid_until
    )
    return [Fact(r.stream_id, permit, when, r.unit_code)]


def report_birth(
    mother: Resident,
    cmd: ReportBirth,
    ctx: Context,
    *,
    new_child_id: uuid.UUID,
    sealed_child: EncryptedPersonalData,
    registered_child: Resident | None = None,
) -> list[Fact]:
    """A birth, reported on the mother by the family, the hospital or the community.

    Reports of one birth from different reporters are one child: a report links to the
    mother's child of the same sex born within ``ctx.birth_match_days`` that this reporter has
    not yet reported (twins: the second hospital report of the day is the second child).
    Otherwise the newborn is registered as a resident where the mother lives.
    """
    _living(mother)
    if mother.sex != "female":
        raise Refusal("resident_id", "the resident is male; a birth is reported on the mother")
    birth_date = ctx.not_future(cmd.birth_date, "birth_date")
    _can_be_mother(mother, birth_date, "birth_date")
    report_ref = check_free_text(cmd.report_ref, "report_ref")
    for child in mother.children:
        if (cmd.reported_by, report_ref) in child.reports:
            raise AlreadyRecorded(
                "report_ref", f"the {cmd.reported_by}'s report {report_ref} is recorded already", child.child_resident_id
            )
    when = start_of(birth_date)
    child_id = _child_of_report(mother, cmd, birth_date, registered_child, ctx)
    facts = []
    if child_id is None:
        child_id = new_child_id
        newborn = ResidentRegistered(
            resident_id=child_id, sex=cmd.sex, birth_date=birth_date, marital_status="unmarried",
            population=mother.population, household_registration_place=mother.household_registration_place,
            unit_code=mother.unit_code, personal=sealed_child, mother_resident_id=mother.resident_id, via="birth_report",
        )
        facts.append(Fact(resident_stream(child_id), newborn, when, mother.unit_code))
    reported = BirthReported(
        mother_resident_id=mother.resident_id, child_resident_id=child_id, birth_date=birth_date, sex=cmd.sex,
        reported_by=cmd.reported_by, report_ref=report_ref,
    )
    facts.append(Fact(mother.stream_id, reported, when, mother.unit_code))
    return facts


def _child_of_report(
    mother: Resident, cmd: ReportBirth, birth_date: date, registered: Resident | None, ctx: Context
) -> uuid.UUID | None:
    """The child this report is about, if already known; None for a newborn to register."""
    if registered is not None:
        known = mother.child(registered.resident_id)
        if known is not None:
            _not_reported_by(known, cmd.reported_by)
        elif registered.mother_resident_id not in (None, mother.resident_id):
            raise Refusal("child_resident_id", f"the registry has {registered.mother_resident_id} as the child's mother")
        if registered.birth_date != birth_date:
            raise Refusal("birth_date", f"the child is registered as born on {registered.birth_date.isoformat()}")
        if registered.sex != cmd.sex:
            raise Refusal("sex", f"the child is registered as {registered.sex}")
        return registered.resident_id
    for child in mother.children:
        close = abs((child.birth_date - birth_date).days) <= ctx.birth_match_days
        if close and child.sex == cmd.sex and cmd.reported_by not in child.reported_by:
            return child.child_resident_id
    return None


def _not_reported_by(child: Child, reporter: str) -> None:
    if reporter in child.reported_by:
        raise AlreadyRecorded("reported_by", f"the {reporter} has reported this child's birth already", child.child_resident_id)


def enrol_child(child: Resident, cmd: EnrolChild, ctx: Context) -> list[Fact]:
    """义务教育: a child of compulsory-school age enrolled in a school of the district."""
    _living(child)
    term_starts = date(cmd.school_year, 9, 1)
    age = age_on(child.birth_date, term_starts)
    if age not in SCHOOL_AGES:
        raise Refusal("school_year", f"the child would be {age} on {term_starts.isoformat()}; compulsory education is for ages 6 to 16")
    if cmd.school_year > ctx.today.year + 1:
        raise Refusal("school_year", f"{cmd.school_year} is more than a year ahead")
    school = check_free_text(cmd.school_name, "school_name")
    if any(e.school_year == cmd.school_year and e.school_name == school for e in child.enrolments):
        raise AlreadyRecorded("school_name", f"the child is enrolled at {school} for {cmd.school_year} already", child.resident_id)
    when = ctx.when(cmd.occurred_at or min(ctx.now, start_of(term_starts)))
    enrolled = ChildEnrolled(child_resident_id=child.resident_id, school_name=school, school_year=cmd.school_year, grade=cmd.grade)
    return [Fact(child.stream_id, enrolled, when, child.unit_code)]


def erase_personal_data(r: Resident, cmd: ErasePersonalData, ctx: Context) -> list[Fact]:
    """Crypto-shredding: the key goes, the facts stay (and keep counting)."""
    if r.erased:
        raise AlreadyRecorded("resident_id", "the resident's personal data were erased already", r.resident_id)
    erased = PersonalDataErased(resident_id=r.resident_id, key_id=r.personal.key_id, reason=check_free_text(cmd.reason, "reason"))
    return [Fact(r.stream_id, erased, ctx.when(cmd.occurred_at), r.unit_code)]


def _living(r: Resident, field_name: str = "resident_id") -> None:
    if not r.living:
        assert r.departed_on is not None
        raise Refusal(field_name, f"the resident left the district on {r.departed_on.isoformat()}")


def _birth_date(day: date, ctx: Context) -> date:
    if day < EARLIEST_BIRTH:
        raise Refusal("birth_date", f"{day.isoformat()} is before {EARLIEST_BIRTH.isoformat()}")
    return ctx.not_future(day, "birth_date")


def _marriageable(status: str, sex: str, birth_date: date, on: date) -> None:
    if status != "unmarried" and age_on(birth_date, on) < MARRIAGE_AGE[sex]:
        raise Refusal(
            "marital_status", f"{status} at {age_on(birth_date, on)}, below the legal age of marriage ({MARRIAGE_AGE[sex]} for {sex})"
        )


def _can_be_mother(mother: Resident, birth_date: date, field_name: str) -> None:
    if mother.sex != "female":
        raise Refusal(field_name, "the mother must be a woman")
    if birth_date < mother.birth_date:
        raise Refusal(field_name, f"{birth_date.isoformat()} is before the mother's own birth ({mother.birth_date.isoformat()})")
    age = age_on(mother.birth_date, birth_date)
    if age not in MOTHER_AGES:
        raise Refusal(field_name, f"the mother would have been {age} at the birth")
