"""A resident as their stream tells it: the state the decisions need, folded from history."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from platform_kit.contract import catalogue
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
    ResidentRecordCorrected,
    ResidentRegistered,
)
from platform_kit.envelope import Envelope
from platform_kit.calendar import local_date



def resident_stream(resident_id: uuid.UUID) -> str:
    return f"resident-{resident_id}"


@dataclass(frozen=True, slots=True)
class Child:
    """A child of this mother, and who has reported the birth so far."""

    child_resident_id: uuid.UUID
    birth_date: date
    sex: str
    reports: tuple[tuple[str, str], ...]  # (reported_by, report_ref)

    @property
    def reported_by(self) -> frozenset[str]:
        return frozenset(by for by, _ in self.reports)


@dataclass(frozen=True, slots=True)
class Resident:
    resident_id: uuid.UUID
    version: int
    sex: str
    birth_date: date
    marital_status: str
    population: str
    household_registration_place: str
    unit_code: str
    registered_at: datetime
    personal: EncryptedPersonalData
    mother_resident_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None  # the first registration's resident id, for a returner
    departed_on: date | None = None
    erased: bool = False
    children: tuple[Child, ...] = ()
    permits: tuple[ResidencePermitIssued, ...] = ()
    enrolments: tuple[ChildEnrolled, ...] = ()
    pregnancy_plans: tuple[PregnancyPlanned, ...] = ()
    moves: tuple[tuple[datetime, str, str], ...] = field(default=())

    @property
    def stream_id(self) -> str:
        return resident_stream(self.resident_id)

    @property
    def person(self) -> uuid.UUID:
        """The stable person key: the same through every departure and return."""
        return self.person_id or self.resident_id

    @property
    def living(self) -> bool:
        return self.departed_on is None

    def child(self, child_id: uuid.UUID) -> Child | None:
        return next((c for c in self.children if c.child_resident_id == child_id), None)


def fold(events: Iterable[Envelope]) -> Resident | None:
    """The resident after ``events`` (their stream, in order); None for an empty stream."""
    resident: Resident | None = None
    for event in events:
        payload = catalogue.load(event)
        if isinstance(payload, ResidentRegistered):
            resident = Resident(
                resident_id=payload.resident_id,
                version=event.stream_version,
                sex=payload.sex,
                birth_date=payload.birth_date,
                marital_status=payload.marital_status,
                population=payload.population,
                household_registration_place=payload.household_registration_place,
                unit_code=payload.unit_code,
                registered_at=event.occurred_at,
                personal=payload.personal,
                mother_resident_id=payload.mother_resident_id,
                person_id=payload.person_id,
            )
            continue
        if resident is None:
            raise ValueError(f"stream_id: {event.stream_id} does not start with ResidentRegistered")
        resident = replace(_apply(resident, event, payload), version=event.stream_version)
    return resident


def _apply(r: Resident, event: Envelope, payload: object) -> Resident:
    match payload:
        case ResidentMoved():
            return replace(r, unit_code=payload.to_unit, moves=(*r.moves, (event.occurred_at, payload.from_unit, payload.to_unit)))
        case ResidentDeparted():
            return replace(r, departed_on=local_date(event.occurred_at))
        case MaritalStatusChanged():
            return replace(r, marital_status=payload.marital_status)
        case PregnancyPlanned():
            return replace(r, pregnancy_plans=(*r.pregnancy_plans, payload))
        case ResidencePermitIssued():
            return replace(r, permits=(*r.permits, payload))
        case ChildEnrolled():
            return replace(r, enrolments=(*r.enrolments, payload))
        case PersonalDataErased():
            return replace(r, erased=True)
        case BirthReported():
            return replace(r, children=_with_report(r.children, payload))
        case ResidentRecordCorrected():
            return _corrected(r, payload, event.unit_code)
    return r  # an event this fold has no use for (e.g. a notice) changes nothing it keeps


def _corrected(r: Resident, c: ResidentRecordCorrected, unit_code: str) -> Resident:
    """What was wrong, made right (``registry.domain.corrections`` allows only what nothing later
    rests on: a move corrected is the latest one; the envelope's unit is where they live now)."""
    right = {name: getattr(c, name) for name in c.changed if name != "happened_at"}
    if c.corrected_type == "ResidentRegistered":
        right.pop("unit_code", None)
        return replace(r, **right, unit_code=unit_code,
                       registered_at=c.happened_at if "happened_at" in c.changed else r.registered_at)
    if c.corrected_type == "ResidentMoved":
        moves = r.moves[:-1] if c.withdrawn else (*r.moves[:-1], (c.happened_at, c.from_unit, c.to_unit))
        return replace(r, unit_code=unit_code, moves=moves)
    return replace(r, marital_status=c.marital_status)


def _with_report(children: tuple[Child, ...], report: BirthReported) -> tuple[Child, ...]:
    entry = (report.reported_by, report.report_ref)
    for index, child in enumerate(children):
        if child.child_resident_id == report.child_resident_id:
            updated = replace(child, reports=(*child.reports, entry))
            return (*children[:index], updated, *children[index + 1 :])
    return (*children, Child(report.child_resident_id, report.birth_date, report.sex, (entry,)))
