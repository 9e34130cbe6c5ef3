"""Residents over HTTP: the commands on a resident (POST) and what the registry knows of them (GET).

A command answers 201 (something new was created) or 200 with the resident id and the
stream's version; a refusal is a problem: 422 the request is wrong, 404 an unknown resident,
409 a concurrent write (reload and retry) or a fact recorded already (``existing_id``).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from platform_kit import problems
from platform_kit.auth import Principal, RateLimit, require_district_action, require_principal, require_role
from platform_kit.event_store import ConcurrencyConflict
from platform_kit.http_params import UnitCodeFilter
from platform_kit.problems import NotFound

from registry.domain.commands import (
    ChangeMaritalStatus,
    CorrectRecord,
    DepartResident,
    EnrolChild,
    ErasePersonalData,
    IssueResidencePermit,
    LookUpByIdNumber,
    MoveResident,
    PlanPregnancy,
    RegisterResident,
    ReportBirth,
    RequestVerification,
    ResidentCommand,
)
from registry.domain.resident import Resident
from registry.entrypoints.access import (
    READ_EVENT,
    Caller,
    may_write_unit,
    personal_view,
    reads_stream,
    record_read,
    resident_in_scope,
    unit_scope,
)
from registry.entrypoints.dependencies import Reg
from registry.entrypoints.schemas import (
    ChildView,
    EnrolmentView,
    PermitView,
    Recorded,
    ResidentPage,
    ResidentRef,
    ResidentSummary,
    ResidentView,
)
from registry.service_layer.handlers import Registry
from registry.service_layer.unit_of_work import Outcome

router = APIRouter(prefix="/api/residents", tags=["residents"])
# A resident's id in a path is a UUID or names nothing (404): "lookup" is not someone's id.
ONE = "/{resident_id:uuid}"
COMMAND = problems.responses(404, 409, 503)
# Why the caller looks at someone in clear: recorded with the read (docs/security.md).
Purpose = Annotated[str, Query(min_length=3, max_length=200, description="why you look (recorded with the read)")]


def id_lookups(request: Request, caller: Principal = Depends(require_principal)) -> Principal:
    """A person's ID number is a key to them: guessing through the lookup is slowed per caller.
    The bucket is the app's (``ID_LOOKUPS_PER_MINUTE``), so a test can set a pace that no slow
    machine outruns."""
    limit: RateLimit = request.app.state.id_lookups
    return limit(caller)


def recorded(outcome: Outcome) -> Recorded:
    return Recorded(
        resident_id=outcome.resident_id, stream_id=outcome.stream_id, stream_version=outcome.stream_version,
        event_ids=[e.event_id for e in outcome.events], child_resident_id=outcome.child_resident_id,
        verification_request_ids=outcome.verification_request_ids,
    )


# ---- what the registry knows ----------------------------------------------------------


@router.post(
    "/lookup", responses=problems.responses(404, 503),
    summary="Find a resident by ID number (sent in the body, never in a URL); rate-limited per caller",
    dependencies=[Depends(id_lookups)],
)
async def look_up(
    registry: Reg, command: LookUpByIdNumber,
    caller: Principal = Depends(require_role("district", "town", "village")),
) -> ResidentRef:
    resident_id = await registry.find_by_id_number(command.id_number)
    resident = await registry.resident(resident_id) if resident_id else None
    # Someone living outside the caller's units is "nobody" to them: the lookup is no oracle.
    if resident is None or not caller.can_read_unit(resident.unit_code, registry.units):
        raise NotFound("id_number", "no resident holds this ID number")
    return ResidentRef(resident_id=resident.resident_id, stream_version=resident.version)


@router.get("", responses=problems.responses(503), summary="Residents of a unit (a village, a town, or the district)")
async def list_residents(
    registry: Reg,
    caller: Caller,
    unit_code: UnitCodeFilter = None,
    status: Annotated[Literal["living", "departed"] | None, Query()] = None,
    population: Annotated[Literal["migrant", "registered"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> ResidentPage:
    units = unit_scope(registry, caller, unit_code)
    total, rows = await registry.read_model.residents(units, status=status, population=population, limit=limit, offset=offset)
    # A listing shows names (never ID numbers or phones): masked for an auditor; not recorded
    # per row, the full record (GET one resident) is where a read in clear is recorded.
    names = await registry.names([(r["resident_id"], r["personal"]) for r in rows])
    if caller.role == "auditor":
        names = {k: personal_view("masked", v, None, None).name for k, v in names.items()}
    return ResidentPage(
        total=total,
        items=[
            ResidentSummary(
                resident_id=r["resident_id"], name=names.get(r["resident_id"]), sex=r["sex"], birth_date=r["birth_date"],
                marital_status=r["marital_status"], population=r["population"], unit_code=r["unit_code"],
                status=r["status"], erased=r["erased"], stream_version=r["version"],
            )
            for r in rows
        ],
    )


@router.get(ONE, responses=problems.responses(404, 503), summary="One resident, as their history tells it")
async def get_resident(
    registry: Reg, resident_id: uuid.UUID, caller: Caller, purpose: Purpose = "case work (个案管理)"
) -> ResidentView:
    """Name, ID number and phone in clear for the district and the resident's own town or
    village (the read is recorded, with ``purpose``), masked for an auditor."""
    resident = await resident_in_scope(registry, caller, resident_id)
    return await _view(registry, resident, caller, purpose)


async def _view(registry: Registry, r: Resident, caller: Principal, purpose: str) -> ResidentView:
    personal = await registry.personal(r)
    view = caller.personal_data(r.unit_code, registry.units)
    if personal is not None and view == "clear":
        await record_read(registry, caller, r, "resident.personal", purpose)
    return ResidentView(
        resident_id=r.resident_id, stream_version=r.version, status="living" if r.living else "departed", erased=r.erased,
        personal=personal_view(view, personal.name, personal.id_number, personal.phone) if personal else None,
        sex=r.sex, birth_date=r.birth_date, marital_status=r.marital_status, population=r.population,
        household_registration_place=r.household_registration_place, unit_code=r.unit_code,
        unit_name=registry.units[r.unit_code].name, registered_at=r.registered_at, departed_on=r.departed_on,
        mother_resident_id=r.mother_resident_id,
        children=[ChildView(child_resident_id=c.child_resident_id, birth_date=c.birth_date, sex=c.sex, reported_by=sorted(c.reported_by)) for c in r.children],
        residence_permits=[PermitView(permit_ref=p.permit_ref, issued_on=p.issued_on, valid_until=p.valid_until) for p in r.permits],
        enrolments=[EnrolmentView(school_name=e.school_name, school_year=e.school_year, grade=e.grade) for e in r.enrolments],
        pregnancy_plans=[p.planned_from for p in r.pregnancy_plans],
    )


# ---- commands -------------------------------------------------------------------------


@router.post("", status_code=201, responses=problems.responses(409, 503), summary="Register a person where they live (属地化管理)")
async def register(registry: Reg, command: RegisterResident, caller: Caller) -> Recorded:
    """A migrant's arrival also notifies the 户籍地 and opens a verification request (协查)."""
    may_write_unit(registry, caller, command.unit_code)
    return recorded(await registry.register(command))


# A command that states no expected_version asks for the change on the stream as it is: a
# concurrent change (a hospital's report of the same birth, taken in by the gate in the same
# moment) is no reason to refuse it, so it is decided again on the new history, as the gate
# does for a department's message. With expected_version, the conflict is the answer (409).
# Of n requests racing on one person, the last to win loses n - 1 times: the attempts allow
# many, and a short random pause lets the losers spread out rather than race again at once.
DECIDE_AGAIN = 20


async def _on(registry: Registry, resident_id: uuid.UUID, command: ResidentCommand, caller: Principal) -> Recorded:
    await resident_in_scope(registry, caller, resident_id, write=True)
    for attempt in range(1, DECIDE_AGAIN + 1):
        try:
            return recorded(await registry.decide(resident_id, command))
        except ConcurrencyConflict:
            if command.expected_version is not None or attempt == DECIDE_AGAIN:
                raise
            await asyncio.sleep(random.uniform(0, 0.005 * attempt))
    raise AssertionError("unreachable")


@router.post(ONE + "/moves", responses=COMMAND, summary="Move to another village or community of the district")
async def move(registry: Reg, resident_id: uuid.UUID, command: MoveResident, caller: Caller) -> Recorded:
    return await _on(registry, resident_id, command, caller)


@router.post(ONE + "/departure", responses=COMMAND, summary="Leave the district (notifies the destination, opens a 协查)")
async def depart(registry: Reg, resident_id: uuid.UUID, command: DepartResident, caller: Caller) -> Recorded:
    return await _on(registry, resident_id, command, caller)


@router.post(ONE + "/marital-status", responses=COMMAND, summary="Change marital status")
async def change_marital_status(registry: Reg, resident_id: uuid.UUID, command: ChangeMaritalStatus, caller: Caller) -> Recorded:
    return await _on(registry, resident_id, command, caller)


@router.post(ONE + "/corrections", status_code=201, responses=COMMAND, summary="Correct a registration, move or marital change (纠正错误)")
async def correct_record(registry: Reg, resident_id: uuid.UUID, command: CorrectRecord, caller: Caller) -> Recorded:
    """A new event naming the one it corrects; the record is never edited. Staff of the
    resident's unit (or above) may correct it (docs/audit.md, section 6)."""
    return await _on(registry, resident_id, command, caller)


@router.post(ONE + "/pregnancy-plans", status_code=201, responses=COMMAND, summary="Declare a planned pregnancy (孕前优生)")
async def plan_pregnancy(registry: Reg, resident_id: uuid.UUID, command: PlanPregnancy, caller: Caller) -> Recorded:
    return await _on(registry, resident_id, command, caller)


@router.post(ONE + "/residence-permits", status_code=201, responses=COMMAND, summary="Record a residence permit (居住证)")
async def issue_residence_permit(registry: Reg, resident_id: uuid.UUID, command: IssueResidencePermit, caller: Caller) -> Recorded:
    return await _on(registry, resident_id, command, caller)


@router.post(ONE + "/births", status_code=201, responses=COMMAND, summary="Report a birth on the mother")
async def report_birth(registry: Reg, resident_id: uuid.UUID, command: ReportBirth, caller: Caller) -> Recorded:
    """The newborn becomes a resident (``child_resident_id`` in the answer), unless another
    reporter's report of the same birth is recorded already: then the report is linked to it."""
    return await _on(registry, resident_id, command, caller)


@router.post(ONE + "/enrolments", status_code=201, responses=COMMAND, summary="Enrol a child in school (义务教育)")
async def enrol_child(registry: Reg, resident_id: uuid.UUID, command: EnrolChild, caller: Caller) -> Recorded:
    return await _on(registry, resident_id, command, caller)


@router.post(ONE + "/erasure", responses=COMMAND, summary="Erase the person's personal data (crypto-shredding)")
async def erase(
    registry: Reg, resident_id: uuid.UUID, command: ErasePersonalData,
    caller: Principal = Depends(require_district_action("erase")),
) -> Recorded:
    """Deletes the person's key: name, ID number and phone become unreadable everywhere, for
    good; the person's facts stay and keep counting."""
    return await _on(registry, resident_id, command, caller)


@router.post(
    ONE + "/verification-requests", status_code=201, responses=COMMAND,
    summary="Open or record a verification request (协查)",
)
async def request_verification(registry: Reg, resident_id: uuid.UUID, command: RequestVerification, caller: Caller) -> Recorded:
    return await _on(registry, resident_id, command, caller)


@router.get(
    ONE + "/personal-data-reads", responses=problems.responses(404, 503),
    summary="Who looked at this person's data in clear, when and why (the district and auditors)",
)
async def personal_data_reads(
    registry: Reg, resident_id: uuid.UUID,
    caller: Principal = Depends(require_role("district", "auditor")),
) -> list[dict]:
    await resident_in_scope(registry, caller, resident_id)
    return [
        {**event.payload, "event_id": str(event.event_id)}
        for event in await registry.store.read_stream(reads_stream(resident_id))
        if event.event_type == READ_EVENT
    ]
