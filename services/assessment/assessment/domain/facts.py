"""What the assessment keeps of each event it consumes: *facts*, one per person the event
is about, carrying both clocks. A fact never changes; history is the set of facts, and every
figure is a function of the facts its clocks can see.

An event about two people (a couple's pregnancy plan, a mother and her newborn) becomes one
fact for each, naming the other: that is how one person's figures come to depend on another's
facts (a partner's consultation, the mother a newborn lives with).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from platform_kit.envelope import Envelope

REGISTERED = "ResidentRegistered"
MOVED = "ResidentMoved"
DEPARTED = "ResidentDeparted"
MARITAL = "MaritalStatusChanged"
PLANNED = "PregnancyPlanned"
BIRTH = "BirthReported"
ENROLLED = "ChildEnrolled"
SERVICE = "ServiceDelivered"
SURVEY = "SurveyRecorded"
CORRECTED = "ServiceCorrected"  # names the service event it corrects: the pair is read together
RECORD_CORRECTED = "ResidentRecordCorrected"  # a registration, move or marital change made right

PERSON_EVENT_TYPES = frozenset(
    {REGISTERED, MOVED, DEPARTED, MARITAL, PLANNED, BIRTH, ENROLLED, SERVICE, SURVEY, CORRECTED, RECORD_CORRECTED}
)
RIGHT_FIELD_NAMES = {"unit_code": "unit"}  # the contract's names where a fact's data says otherwise
RETURNED = "PersonReturned"  # not an event: the fact a returner's registration adds to the first identity
SPOUSE = "SpouseNamed"  # not an event: the fact a marriage naming the spouse adds to the spouse
LINK_FIELDS = ("partner", "planner", "mother", "child", "person", "returned_as", "spouse")


@dataclass(frozen=True, slots=True)
class Fact:
    subject: uuid.UUID  # the person whose history this is part of
    event_id: uuid.UUID
    kind: str  # the event type
    occurred_at: datetime
    recorded_at: datetime
    units: tuple[str, ...]  # the units it places the person in (to find people by unit)
    data: Mapping[str, Any] = field(compare=False)

    @property
    def order(self) -> tuple[datetime, datetime, uuid.UUID]:
        """History is read in business order; ties are broken the same way on every replay."""
        return (self.occurred_at, self.recorded_at, self.event_id)

    @property
    def links(self) -> tuple[uuid.UUID, ...]:
        return tuple(uuid.UUID(str(self.data[name])) for name in LINK_FIELDS if self.data.get(name))


@dataclass(frozen=True, slots=True)
class PenaltyFact:
    event_id: uuid.UUID
    rule: str
    unit_code: str
    occurred_at: datetime
    recorded_at: datetime
    points: float


def facts_of(event: Envelope, payload: BaseModel) -> list[Fact]:
    """The facts an event adds to people's histories (none for events no indicator needs)."""
    p = payload

    def fact(subject: uuid.UUID, units: Iterable[str] = (), **data: Any) -> Fact:
        return Fact(subject, event.event_id, event.event_type, event.occurred_at, event.recorded_at, tuple(units), data)

    match event.event_type:
        case "ResidentRegistered":
            # A returner (registered again after leaving) names the first registration's id
            # (`person_id`): the first identity gets a fact naming the new one, so the person's
            # whole history is read as one timeline, counted once.
            person = str(p.person_id) if getattr(p, "person_id", None) and p.person_id != p.resident_id else None
            registered = fact(
                p.resident_id, [p.unit_code], unit=p.unit_code, sex=p.sex, birth_date=p.birth_date.isoformat(),
                marital_status=p.marital_status, population=p.population, person=person,
            )
            if person is None:
                return [registered]
            return [registered, Fact(p.person_id, event.event_id, RETURNED, event.occurred_at, event.recorded_at,
                                     (p.unit_code,), {"returned_as": str(p.resident_id)})]
        case "ResidentMoved":
            return [fact(p.resident_id, [p.from_unit, p.to_unit], from_unit=p.from_unit, to_unit=p.to_unit)]
        case "ResidentDeparted":
            return [fact(p.resident_id, [p.from_unit], from_unit=p.from_unit)]
        case "MaritalStatusChanged":
            spouse = getattr(p, "spouse_resident_id", None)
            if spouse is None:
                return [fact(p.resident_id, marital_status=p.marital_status)]
            # A couple is served as one (contraceptives): each spouse's history names the other.
            return [
                fact(p.resident_id, marital_status=p.marital_status, spouse=str(spouse)),
                Fact(spouse, event.event_id, SPOUSE, event.occurred_at, event.recorded_at, (), {"spouse": str(p.resident_id)}),
            ]
        case "PregnancyPlanned":
            partner = str(p.partner_resident_id) if p.partner_resident_id else None
            facts = [fact(p.resident_id, role="planner", partner=partner)]
            if p.partner_resident_id:
                facts.append(fact(p.partner_resident_id, role="partner", planner=str(p.resident_id)))
            return facts
        case "BirthReported":
            return [
                fact(p.mother_resident_id, [event.unit_code], role="mother", child=str(p.child_resident_id)),
                fact(
                    p.child_resident_id, [event.unit_code], role="child", mother=str(p.mother_resident_id),
                    unit=event.unit_code, sex=p.sex, birth_date=p.birth_date.isoformat(),
                ),
            ]
        case "ChildEnrolled":
            return [fact(p.child_resident_id, school_year=p.school_year, grade=p.grade)]
        case "ServiceDelivered" if p.resident_id is not None:
            return [fact(p.resident_id, service_kind=p.service_kind, unit=p.delivered_by_unit, free=p.free_of_charge)]
        case "ServiceCorrected" if p.resident_id is not None:
            return [fact(p.resident_id, corrects=str(p.corrects), withdrawn=p.withdrawn, service_kind=p.service_kind, reason=p.reason)]
        case "SurveyRecorded":
            return [fact(p.resident_id, survey_kind=p.survey_kind, aware=p.aware)]
        case "ResidentRecordCorrected":
            right = {RIGHT_FIELD_NAMES.get(k, k): v.isoformat() if isinstance(v, date) else v for k, v in p.right_version().items()}
            return [fact(
                p.resident_id, [u for u in (p.unit_code, p.from_unit, p.to_unit) if u], corrects=str(p.corrects),
                corrected_type=p.corrected_type, withdrawn=p.withdrawn, reason=p.reason, changed=list(p.changed),
                happened_at=p.happened_at.isoformat() if p.happened_at else None, right=right,
            )]
    return []


def corrected(facts: Iterable[Fact]) -> list[Fact]:
    """A person's facts as their visible corrections say they should read: a corrected
    registration, move or marital change is replaced by its right version (under the
    correction's event id, at the right business time, the original's other data kept), or is
    gone when withdrawn; the latest-recorded correction of an event wins. Asked as known before
    a correction was recorded, the original stands (the correction is not among the facts)."""
    facts = list(facts)
    for f in facts:
        if f.kind == RECORD_CORRECTED:
            break
    else:  # most people: nothing corrected
        return facts
    latest: dict[str, Fact] = {}
    for f in sorted((f for f in facts if f.kind == RECORD_CORRECTED), key=lambda f: (f.recorded_at, f.event_id)):
        latest[f.data["corrects"]] = f
    if not latest:
        return facts
    replaced = {(c.data["corrects"], c.data["corrected_type"]) for c in latest.values()}
    originals = {str(f.event_id): f for f in facts if (str(f.event_id), f.kind) in replaced}
    out = [f for f in facts if f.kind != RECORD_CORRECTED and (str(f.event_id), f.kind) not in replaced]
    for corrects, c in latest.items():
        if not c.data["withdrawn"]:
            base = originals[corrects].data if corrects in originals else {}
            out.append(Fact(c.subject, c.event_id, c.data["corrected_type"], datetime.fromisoformat(c.data["happened_at"]),
                            c.recorded_at, c.units, {**base, **c.data["right"]}))
    return out


def penalty_of(event: Envelope, rules: Any, earlier: list[tuple[str, dict]] = ()) -> PenaltyFact | None:
    """A penalty fact when the rules penalise this event (given the earlier events of its
    stream that the rules remember); the event's unit carries it."""
    penalty = rules.penalty_for(event.event_type, event.payload, earlier)
    if penalty is None:
        return None
    return PenaltyFact(event.event_id, penalty.id, event.unit_code, event.occurred_at, event.recorded_at, penalty.points)


def by_subject(facts: Iterable[Fact]) -> dict[uuid.UUID, list[Fact]]:
    grouped: dict[uuid.UUID, list[Fact]] = {}
    for f in facts:
        grouped.setdefault(f.subject, []).append(f)
    return grouped


def links_of(facts: Iterable[Fact]) -> set[uuid.UUID]:
    return {other for f in facts for other in f.links}
