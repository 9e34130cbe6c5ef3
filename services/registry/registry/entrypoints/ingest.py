"""Department facts, as the registry's own commands.

The kit's department gate reads ``ingest.<department>``, triages by
``platform_kit.topics.INGEST_ROUTES``, recognises a message seen before, retries a stream that
changed meanwhile, and answers what cannot be accepted on ``ingest.rejected``. What is left
here is the translation: which resident a fact is about, and which command it is. A
department's fact is held to the same rules as a village manager's entry; a refusal names the
field as it sits in the department's message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pydantic import BaseModel

from platform_kit.contract.registry import (
    BirthReported,
    ChildEnrolled,
    MaritalStatusChanged,
    ResidencePermitIssued,
    ResidentDeparted,
    ResidentMoved,
)
from platform_kit.envelope import Envelope
from platform_kit.gate import DepartmentFact
from platform_kit.problems import Refusal

from registry.domain.commands import (
    ChangeMaritalStatus,
    DepartResident,
    EnrolChild,
    IssueResidencePermit,
    MoveResident,
    ReportBirth,
    ResidentCommand,
)
from registry.service_layer.handlers import Registry
from registry.service_layer.unit_of_work import Origin


@dataclass(frozen=True)
class Translation:
    """A department fact as the registry's own command on one resident."""

    resident_id: uuid.UUID
    resident_field: str  # the payload field that names the resident
    command: ResidentCommand
    proposed_child_id: uuid.UUID | None = None


def translate(payload: BaseModel, event: Envelope) -> Translation:
    at = event.occurred_at
    match payload:
        case BirthReported():  # a birth happened when the child was born: the decision says when
            command = ReportBirth(
                birth_date=payload.birth_date, sex=payload.sex, reported_by=payload.reported_by, report_ref=payload.report_ref
            )
            return Translation(payload.mother_resident_id, "mother_resident_id", command, payload.child_resident_id)
        case ResidencePermitIssued():
            command = IssueResidencePermit(
                permit_ref=payload.permit_ref, issued_on=payload.issued_on, valid_until=payload.valid_until, occurred_at=at
            )
            return Translation(payload.resident_id, "resident_id", command)
        case ResidentMoved():
            command = MoveResident(to_unit=payload.to_unit, from_unit=payload.from_unit, occurred_at=at)
            return Translation(payload.resident_id, "resident_id", command)
        case ResidentDeparted():
            command = DepartResident(
                from_unit=payload.from_unit, destination_place=payload.destination_place, reason=payload.reason, occurred_at=at
            )
            return Translation(payload.resident_id, "resident_id", command)
        case ChildEnrolled():
            command = EnrolChild(
                school_name=payload.school_name, school_year=payload.school_year, grade=payload.grade, occurred_at=at
            )
            return Translation(payload.child_resident_id, "child_resident_id", command)
        case MaritalStatusChanged():
            command = ChangeMaritalStatus(marital_status=payload.marital_status, previous=payload.previous, occurred_at=at)
            return Translation(payload.resident_id, "resident_id", command)
    raise AssertionError(f"no translation for {type(payload).__name__}")  # INGEST_ROUTES and this list disagree


async def accept(registry: Registry, fact: DepartmentFact) -> None:
    """Decide and append what ``fact`` means to the registry, or refuse it (``Refusal``)."""
    t = translate(fact.payload, fact.envelope)
    origin = Origin(
        source=fact.source, correlation_id=fact.correlation_id, causation_id=fact.causation_id,
        event_id=fact.event_id, new_id=fact.new_id,
    )
    try:
        if isinstance(t.command, ReportBirth) and t.proposed_child_id is not None:
            await registry.report_birth(t.resident_id, t.command, origin, proposed_child_id=t.proposed_child_id)
        else:
            await registry.decide(t.resident_id, t.command, origin)
    except Refusal as refusal:
        refusal.field = _field(refusal.field, t)  # as the department wrote it
        raise


def _field(field: str, t: Translation) -> str:
    """Where, in the department's message, the refused field is."""
    if field == "occurred_at":
        return "occurred_at"
    if field == "resident_id":
        return f"payload.{t.resident_field}"
    return f"payload.{field}"
