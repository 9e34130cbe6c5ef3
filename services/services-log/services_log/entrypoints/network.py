"""The network's HTTP API: the roster (POST /api/staff, GET /api/staff) and a year of the network
per unit with the district's totals beside the source document's (GET /api/network, and the same
as CSV for the export). Names go in, sealed; they never come back out of these routes."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from platform_kit import problems
from platform_kit.auth import Principal, require_principal
from platform_kit.auth.http import forbidden
from platform_kit.contract.common import UnitCode
from platform_kit.units import unit_tree
from services_log.adapters import roster
from services_log.domain.commands import AssignStaff
from services_log.domain.network import DOCUMENT, year_of_network
from services_log.entrypoints.http import RecorderDep, queried_unit_in_scope

network_router = APIRouter(prefix="/api", tags=["network"])
Caller = Annotated[Principal, Depends(require_principal)]
Year = Annotated[int, Query(ge=2000, le=2100, description="the calendar year")]


class StaffOnRoster(BaseModel):
    staff_ref: str
    unit_code: UnitCode
    role: Literal["manager", "assistant"]
    assigned_on: date
    stream_version: int
    replayed: bool = Field(False, description="true when the roster already said exactly this")


class UnitNetwork(BaseModel):
    unit_code: UnitCode
    name: str
    level: Literal["district", "town", "village"]
    managers: int = Field(description="专职管理员 on the roster at the end of the year")
    assistants: int = Field(description="协管员 on the roster at the end of the year")
    trainings: int
    training_person_times: int = Field(description="人次 of the staff trainings held in the year")
    trained_staff: int = Field(description="staff on the roster named as trainees in the year")
    association_activities: int
    association_participants: int = Field(description="people at the activities (the nearest fact to members)")
    associations_active: int


class Network(BaseModel):
    year: int
    units: list[UnitNetwork]
    district: UnitNetwork
    document: dict = Field(description="the source document's figures, to read beside the district's totals")


@network_router.post(
    "/staff", status_code=201, responses={200: {"model": StaffOnRoster}, **problems.responses(422)},
    summary="Put a member of staff on a unit's roster",
)
async def assign_staff(command: AssignStaff, response: Response, recorder: RecorderDep, caller: Caller) -> StaffOnRoster:
    """A full-time manager (专职管理员) or an assistant (协管员) on a unit's roster from
    ``assigned_on``; again with another unit moves them. The name is sealed, never shown back."""
    tree = unit_tree()
    if command.unit_code in tree and not caller.can_write_unit(command.unit_code, tree):
        raise forbidden(f"unit_code: {tree[command.unit_code].name} is outside the units this token may change")
    outcome = await recorder.assign_staff(command)
    response.status_code = 201 if outcome.status == "recorded" else 200
    p = outcome.event.payload
    return StaffOnRoster(
        staff_ref=p["staff_ref"], unit_code=p["unit_code"], role=p["role"], assigned_on=p["assigned_on"],
        stream_version=outcome.event.stream_version, replayed=outcome.status != "recorded",
    )


@network_router.get("/staff", responses=problems.responses(422), summary="The roster (refs, units, roles)")
async def list_staff(
    recorder: RecorderDep, caller: Caller, unit_code: Annotated[UnitCode | None, Query()] = None
) -> list[StaffOnRoster]:
    tree = unit_tree()
    if unit_code is not None:
        queried_unit_in_scope(caller, unit_code)
    staff = await roster.listed(recorder.pool, recorder.schema)
    return [
        StaffOnRoster(staff_ref=s.staff_ref, unit_code=s.unit_code, role=s.role, assigned_on=s.assigned_on, stream_version=s.version)
        for s in staff
        if caller.can_read_unit(s.unit_code, tree)
        and (unit_code is None or unit_code == s.unit_code or unit_code in {u.code for u in tree.ancestors(s.unit_code)})
    ]


async def _network(recorder, caller: Principal, year: int) -> Network:
    tree = unit_tree()
    figures = year_of_network(year, tree, *await roster.year_facts(recorder.pool, recorder.schema, year))
    units = [UnitNetwork(**f.public()) for f in figures.values() if caller.can_read_unit(f.unit_code, tree)]
    return Network(
        year=year, units=units, district=UnitNetwork(**figures[tree.district.code].public()), document=DOCUMENT
    )


@network_router.get("/network", responses=problems.responses(422), summary="A year of the network, per unit")
async def network(recorder: RecorderDep, caller: Caller, year: Year) -> Network:
    """Staff counts, training person-times, association activities per unit (towns and the
    district add up their units), with the document's 177 / 927 / 13 / 400+ beside the totals."""
    return await _network(recorder, caller, year)


@network_router.get(
    "/network.csv", responses={200: {"content": {"text/csv": {}}}, **problems.responses(422)},
    summary="The year of the network as CSV (the export)",
)
async def network_csv(recorder: RecorderDep, caller: Caller, year: Year) -> Response:
    answer = await _network(recorder, caller, year)
    out = io.StringIO()
    columns = list(UnitNetwork.model_fields)
    writer = csv.writer(out)
    writer.writerow(columns)
    for unit in answer.units:
        writer.writerow([getattr(unit, c) for c in columns])
    # The document's figures as one more row, under the columns they compare with.
    doc = answer.document
    beside = {"unit_code": "document", "name": doc["source"], "level": "district", "managers": doc["managers"],
              "assistants": doc["assistants"], "training_person_times": f">={doc['training_person_times_at_least']}",
              "associations_active": doc["associations"]}
    writer.writerow([beside.get(c, "") for c in columns])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="network-{year}.csv"'})
