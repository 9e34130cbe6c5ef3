"""The staff's HTTP API under /api: commands (POST) and what the registry knows (GET).

Answers are predictable: a command returns 201 (something new was created) or 200 with the
resident id and the stream's version; 422 names the field and the reason; 404 an unknown
resident or request; 409 a concurrent write (reload and retry) or a fact recorded already.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from platform_kit.event_store import ConcurrencyConflict
from platform_kit.units import Unit, associations

from registry.domain.errors import AlreadyRecorded, DomainError
from registry.domain.exchange import days_late
from registry.domain.resident import Resident
from registry.domain.time import local_date
from registry.messages import (
    AssociationView,
    ChangeMaritalStatus,
    ChildView,
    Counts,
    DepartResident,
    DiscrepancyView,
    EnrolChild,
    EnrolmentView,
    ErasePersonalData,
    IssueResidencePermit,
    LookUpByIdNumber,
    MoveResident,
    PermitView,
    PersonalView,
    PlanPregnancy,
    ReconciliationResult,
    Recorded,
    RegisterResident,
    ReplyToVerification,
    ReportBirth,
    RequestVerification,
    ResidentCommand,
    ResidentPage,
    ResidentRef,
    ResidentSummary,
    ResidentView,
    RunSweep,
    UnitDetail,
    UnitView,
    VerificationView,
)
from registry.service import Outcome, Registry

PATH_FIELDS = frozenset({"resident_id", "request_id", "code"})
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "unknown resident, request or unit"},
    409: {"description": "a concurrent write (reload and retry), or the fact is recorded already"},
    422: {"description": "the field and the reason"},
}


def get_registry(request: Request) -> Registry:
    return request.app.state.registry


Reg = Annotated[Registry, Depends(get_registry)]

units_router = APIRouter(prefix="/api", tags=["units"])
residents_router = APIRouter(prefix="/api/residents", tags=["residents"], responses=ERRORS)
exchange_router = APIRouter(prefix="/api/verification-requests", tags=["cross-region exchange (协查)"], responses=ERRORS)
reconciliation_router = APIRouter(prefix="/api", tags=["reconciliation (清理清查)"], responses=ERRORS)


# ---- units --------------------------------------------------------------------------


def _unit(u: Unit) -> UnitView:
    return UnitView(code=u.code, name=u.name, kind=u.kind, level=u.level, parent_code=u.parent_code)


@units_router.get("/units", summary="The unit tree: 市中区, its 11 towns and streets, their 162 villages and communities")
async def list_units(
    registry: Reg,
    level: Annotated[Literal["district", "town", "village"] | None, Query()] = None,
    parent: Annotated[str | None, Query(description="only the children of this unit")] = None,
) -> list[UnitView]:
    tree = registry.units
    if parent is not None:
        _known_unit(registry, parent, "parent")
        units = tree.children(parent)
    else:
        units = [tree.district, *tree.towns(), *tree.villages()]
    return [_unit(u) for u in units if level is None or u.level == level]


@units_router.get("/units/{code}", summary="One unit, its ancestors and its children", responses=ERRORS)
async def get_unit(registry: Reg, code: str) -> UnitDetail:
    unit = _known_unit(registry, code, "code")
    tree = registry.units
    return UnitDetail(
        **_unit(unit).model_dump(),
        ancestors=[_unit(u) for u in tree.ancestors(code)],
        children=[_unit(u) for u in tree.children(code)],
    )


@units_router.get("/associations", summary="The 13 流动人口计生协会 and the units that host them")
async def list_associations() -> list[AssociationView]:
    return [AssociationView(ref=a.ref, name=a.name, host_unit_code=a.host_unit_code, host_kind=a.host_kind) for a in associations()]


def _known_unit(registry: Registry, code: str, field: str) -> Unit:
    if code not in registry.units:
        raise NotFound(field, f"{code} is not a unit of {registry.units.district.name}")
    return registry.units[code]


class NotFound(DomainError):
    code = "not_found"


# ---- residents: commands ------------------------------------------------------------


def _recorded(outcome: Outcome) -> Recorded:
    return Recorded(
        resident_id=outcome.resident_id, stream_id=outcome.stream_id, stream_version=outcome.stream_version,
        event_ids=[e.event_id for e in outcome.events], child_resident_id=outcome.child_resident_id,
        verification_request_ids=outcome.verification_request_ids,
    )


@residents_router.post("", status_code=201, summary="Register a person where they live (属地化管理)")
async def register(registry: Reg, command: RegisterResident) -> Recorded:
    """A migrant's arrival also notifies the 户籍地 and opens a verification request (协查)."""
    return _recorded(await registry.register(command))


async def _on(registry: Registry, resident_id: uuid.UUID, command: ResidentCommand) -> Recorded:
    return _recorded(await registry.decide(resident_id, command))


@residents_router.post("/{resident_id}/moves", summary="Move to another village or community of the district")
async def move(registry: Reg, resident_id: uuid.UUID, command: MoveResident) -> Recorded:
    return await _on(registry, resident_id, command)


@residents_router.post("/{resident_id}/departure", summary="Leave the district (notifies the destination, opens a 协查)")
async def depart(registry: Reg, resident_id: uuid.UUID, command: DepartResident) -> Recorded:
    return await _on(registry, resident_id, command)


@residents_router.post("/{resident_id}/marital-status", summary="Change marital status")
async def change_marital_status(registry: Reg, resident_id: uuid.UUID, command: ChangeMaritalStatus) -> Recorded:
    return await _on(registry, resident_id, command)


@residents_router.post("/{resident_id}/pregnancy-plans", status_code=201, summary="Declare a planned pregnancy (孕前优生)")
async def plan_pregnancy(registry: Reg, resident_id: uuid.UUID, command: PlanPregnancy) -> Recorded:
    return await _on(registry, resident_id, command)


@residents_router.post("/{resident_id}/residence-permits", status_code=201, summary="Record a residence permit (居住证)")
async def issue_residence_permit(registry: Reg, resident_id: uuid.UUID, command: IssueResidencePermit) -> Recorded:
    return await _on(registry, resident_id, command)


@residents_router.post("/{resident_id}/births", status_code=201, summary="Report a birth on the mother")
async def report_birth(registry: Reg, resident_id: uuid.UUID, command: ReportBirth) -> Recorded:
    """The newborn becomes a resident (``child_resident_id`` in the answer), unless another
    reporter's report of the same birth is recorded already: then the report is linked to it."""
    return await _on(registry, resident_id, command)


@residents_router.post("/{resident_id}/enrolments", status_code=201, summary="Enrol a child in school (义务教育)")
async def enrol_child(registry: Reg, resident_id: uuid.UUID, command: EnrolChild) -> Recorded:
    return await _on(registry, resident_id, command)


@residents_router.post("/{resident_id}/erasure", summary="Erase the person's personal data (crypto-shredding)")
async def erase(registry: Reg, resident_id: uuid.UUID, command: ErasePersonalData) -> Recorded:
    """Deletes the person's key: name, ID number and phone become unreadable everywhere, for
    good; the person's facts stay and keep counting."""
    return await _on(registry, resident_id, command)


@residents_router.post("/{resident_id}/verification-requests", status_code=201, summary="Open or record a verification request (协查)")
async def request_verification(registry: Reg, resident_id: uuid.UUID, command: RequestVerification) -> Recorded:
    return await _on(registry, resident_id, command)


# ---- residents: what the registry knows ---------------------------------------------


@residents_router.get("", summary="Residents of a unit (a village, a town, or the district)")
async def list_residents(
    registry: Reg,
    unit_code: Annotated[str | None, Query()] = None,
    status: Annotated[Literal["living", "departed"] | None, Query()] = None,
    population: Annotated[Literal["migrant", "registered"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ResidentPage:
    units = registry.villages_under(unit_code, "unit_code")
    total, rows = await registry.read_model.residents(units, status=status, population=population, limit=limit, offset=offset)
    names = await registry.names([(r["resident_id"], r["personal"]) for r in rows])
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


@residents_router.get("/{resident_id}", summary="One resident, as their history tells it")
async def get_resident(registry: Reg, resident_id: uuid.UUID) -> ResidentView:
    resident = await registry.resident(resident_id)
    if resident is None:
        raise NotFound("resident_id", f"no resident {resident_id} in the registry")
    return await _view(registry, resident)


@residents_router.post("/lookup", summary="Find a resident by ID number (sent in the body, never in a URL)")
async def look_up(registry: Reg, command: LookUpByIdNumber) -> ResidentRef:
    resident_id = await registry.find_by_id_number(command.id_number)
    resident = await registry.resident(resident_id) if resident_id else None
    if resident is None:
        raise NotFound("id_number", "no resident holds this ID number")
    return ResidentRef(resident_id=resident.resident_id, stream_version=resident.version)


async def _view(registry: Registry, r: Resident) -> ResidentView:
    personal = await registry.personal(r)
    return ResidentView(
        resident_id=r.resident_id, stream_version=r.version, status="living" if r.living else "departed", erased=r.erased,
        personal=PersonalView(name=personal.name, id_number=personal.id_number, phone=personal.phone) if personal else None,
        sex=r.sex, birth_date=r.birth_date, marital_status=r.marital_status, population=r.population,
        household_registration_place=r.household_registration_place, unit_code=r.unit_code,
        unit_name=registry.units[r.unit_code].name, registered_at=r.registered_at, departed_on=r.departed_on,
        mother_resident_id=r.mother_resident_id,
        children=[ChildView(child_resident_id=c.child_resident_id, birth_date=c.birth_date, sex=c.sex, reported_by=sorted(c.reported_by)) for c in r.children],
        residence_permits=[PermitView(permit_ref=p.permit_ref, issued_on=p.issued_on, valid_until=p.valid_until) for p in r.permits],
        enrolments=[EnrolmentView(school_name=e.school_name, school_year=e.school_year, grade=e.grade) for e in r.enrolments],
        pregnancy_plans=[p.planned_from for p in r.pregnancy_plans],
    )


@units_router.get("/units/{code}/counts", summary="How many residents a unit has (erased people still count)", responses=ERRORS)
async def counts(registry: Reg, code: str) -> Counts:
    _known_unit(registry, code, "code")
    rows = await registry.read_model.counts(registry.villages_under(code, "code"))
    by_population: dict[str, int] = {}
    by_sex: dict[str, int] = {}
    living = departed = erased = 0
    for row in rows:
        n = row["n"]
        if row["status"] == "living":
            living += n
            by_population[row["population"]] = by_population.get(row["population"], 0) + n
            by_sex[row["sex"]] = by_sex.get(row["sex"], 0) + n
        else:
            departed += n
        erased += n if row["erased"] else 0
    return Counts(
        unit_code=code, living=living, departed=departed, erased=erased,
        by_population=by_population, by_sex=by_sex,
    )


# ---- verification requests (协查) ----------------------------------------------------


@exchange_router.get("", summary="Verification requests; overdue ones are flagged")
async def list_verification_requests(
    registry: Reg,
    unit_code: Annotated[str | None, Query()] = None,
    resident_id: Annotated[uuid.UUID | None, Query()] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
    overdue: Annotated[bool, Query(description="only those past their deadline: unanswered, or answered late")] = False,
) -> list[VerificationView]:
    today = local_date(registry.clock())
    rows = await registry.read_model.verifications(
        registry.villages_under(unit_code, "unit_code"), resident_id=resident_id, open_only=open_only,
        overdue_on=today if overdue else None,
    )
    views = []
    for r in rows:
        late = days_late(r["due_on"], r["replied_on"] or today)
        views.append(VerificationView(**{k: r[k] for k in r.keys() if k != "version"}, stream_version=r["version"], days_late=late, overdue=late > 0))
    return views


@exchange_router.post("/{request_id}/reply", summary="Record the reply to a verification request")
async def reply(registry: Reg, request_id: uuid.UUID, command: ReplyToVerification) -> Recorded:
    return _recorded(await registry.reply_to_verification(request_id, command))


# ---- reconciliation (清理清查) --------------------------------------------------------


async def _found(registry: Registry, ids: list[uuid.UUID]) -> ReconciliationResult:
    rows = await registry.read_model.discrepancies(None, ids) if ids else []
    return ReconciliationResult(found=[DiscrepancyView(**dict(r)) for r in rows])


@reconciliation_router.post("/reconciliation/hospital-births", summary="Find hospital-reported births nobody else reported (漏报出生)")
async def reconcile_hospital_births(registry: Reg) -> ReconciliationResult:
    """Runs by itself every ``RECONCILIATION_INTERVAL_SECONDS`` as well; a finding is never made twice."""
    return await _found(registry, await registry.reconcile_hospital_births())


@reconciliation_router.post("/sweeps", summary="Sweep a unit for children without a birth record (清理清查)")
async def sweep(registry: Reg, command: Annotated[RunSweep, Body()]) -> ReconciliationResult:
    return await _found(registry, await registry.sweep(command))


@reconciliation_router.get("/discrepancies", summary="Births found unreported (BirthDiscrepancyFound)")
async def list_discrepancies(registry: Reg, unit_code: Annotated[str | None, Query()] = None) -> list[DiscrepancyView]:
    rows = await registry.read_model.discrepancies(registry.villages_under(unit_code, "unit_code"))
    return [DiscrepancyView(**dict(r)) for r in rows]


ROUTERS = (units_router, residents_router, exchange_router, reconciliation_router)


# ---- errors: one shape for every refusal --------------------------------------------


def _problem(status: int, kind: str, loc: list[str], msg: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": [{"type": kind, "loc": loc, "msg": msg, **extra}]}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    async def domain_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, DomainError)
        where = "path" if error.field in PATH_FIELDS else ("query" if request.method == "GET" else "body")
        loc = [where, error.field]
        if isinstance(error, AlreadyRecorded):
            return _problem(409, error.code, loc, error.reason, existing_id=str(error.existing_id))
        return _problem(404 if error.code == "not_found" else 422, error.code, loc, error.reason)

    async def conflict(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ConcurrencyConflict)
        return _problem(
            409, "concurrency_conflict", ["body", "expected_version"], str(error).partition(": ")[2],
            stream_id=error.stream_id, expected_version=error.expected, actual_version=error.actual,
        )

    async def invalid(_request: Request, error: Exception) -> JSONResponse:
        # Like FastAPI's own answer, without echoing the input: it may be someone's ID number.
        assert isinstance(error, RequestValidationError)
        detail = [{"type": e["type"], "loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(ConcurrencyConflict, conflict)
    app.add_exception_handler(RequestValidationError, invalid)

