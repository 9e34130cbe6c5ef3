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
from platform_kit.calendar import local_date
from platform_kit.auth import Principal, require_principal
from platform_kit.auth.http import forbidden
from platform_kit.contract.common import UnitCode
from platform_kit.units import unit_tree
from services_log.adapters import roster
from services_log.domain.commands import AssignStaff, RemoveStaff
from services_log.domain.network import DOCUMENT, year_of_network
from services_log.entrypoints.http import RecorderDep, queried_unit_in_scope

network_router = APIRouter(prefix="/api", tags=["network"])
Caller = Annotated[Principal, Depends(require_principal)]
Year = Annotated[int, Query(ge=2000, le=2100, description="the calendar year")]
AsOf = Annotated[date | None, Query(description="count the staff on this day of the year (31 December when absent)")]


class StaffOnRoster(BaseModel):
    staff_ref: str
    unit_code: UnitCode
    role: Literal["manager", "assistant"]
    assigned_on: date
    stream_version: int
    removed_on: date | None = Field(None, description="the first day off the roster (StaffRemoved)")
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
    as_of: date = Field(description="the day the staff are counted on (31 December unless asked)")
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


@network_router.post(
    "/staff/removals", status_code=201, responses={200: {"model": StaffOnRoster}, **problems.responses(422)},
    summary="Take a member of staff off the roster (they leave their unit)",
)
async def remove_staff(command: RemoveStaff, response: Response, recorder: RecorderDep, caller: Caller) -> StaffOnRoster:
    """From ``removed_on`` they are no longer counted, and a service they record dated on or
    after it is refused (422 naming ``staff_ref``). A later assignment puts them back."""
    tree = unit_tree()

    def may_change(unit_code: str) -> None:
        if not caller.can_write_unit(unit_code, tree):
            raise forbidden(f"staff_ref: is on the roster of {tree[unit_code].name}, outside the units this token may change")

    outcome = await recorder.remove_staff(command, may_change)
    response.status_code = 201 if outcome.status == "recorded" else 200
    p = outcome.event.payload
    staff = await roster.current(recorder.pool, recorder.schema, command.staff_ref)
    assert staff is not None
    return StaffOnRoster(
        staff_ref=p["staff_ref"], unit_code=p["unit_code"], role=p["role"], assigned_on=staff.assigned_on,
        stream_version=outcome.event.stream_version, removed_on=p["removed_on"], replayed=outcome.status != "recorded",
    )


@network_router.get(
    "/staff", responses=problems.responses(422), summary="The roster today (refs, units, roles)"
)
async def list_staff(
    recorder: RecorderDep, caller: Caller, unit_code: Annotated[UnitCode | None, Query()] = None
) -> list[StaffOnRoster]:
    tree = unit_tree()
    if unit_code is not None:
        queried_unit_in_scope(caller, unit_code)
    staff = await roster.listed(recorder.pool, recorder.schema)
    today = local_date(recorder.clock())
    return [
        StaffOnRoster(staff_ref=s.staff_ref, unit_code=s.unit_code, role=s.role, assigned_on=s.assigned_on, stream_version=s.version)
        for s in staff
        if s.on_roster(today) and caller.can_read_unit(s.unit_code, tree)
        and (unit_code is None or unit_code == s.unit_code or unit_code in {u.code for u in tree.ancestors(s.unit_code)})
    ]


def _staff_on(year: int, as_of: date | None) -> date:
    if as_of is None:
        return date(year, 12, 31)
    if as_of.year != year:
        raise problems.Refusal("query.as_of", f"must be a day of {year}, the year asked")
    return as_of


async def _network(recorder, caller: Principal, year: int, as_of: date | None = None) -> Network:
    tree, staff_on = unit_tree(), _staff_on(year, as_of)
    assignments, trainings, activities, removals = await roster.year_facts(recorder.pool, recorder.schema, year)
    figures = year_of_network(year, tree, assignments, trainings, activities, removals, staff_on=staff_on)
    units = [UnitNetwork(**f.public()) for f in figures.values() if caller.can_read_unit(f.unit_code, tree)]
    return Network(
        year=year, as_of=staff_on, units=units, district=UnitNetwork(**figures[tree.district.code].public()), document=DOCUMENT
    )


@network_router.get("/network", responses=problems.responses(422), summary="A year of the network, per unit")
async def network(recorder: RecorderDep, caller: Caller, year: Year, as_of: AsOf = None) -> Network:
    """Staff counts, training person-times, association activities per unit (towns and the
    district add up their units), with the document's 177 / 927 / 13 / 400+ beside the totals."""
    return await _network(recorder, caller, year, as_of)


@network_router.get(
    "/network.csv", responses={200: {"content": {"text/csv": {}}}, **problems.responses(422)},
    summary="The year of the network as CSV (the export)",
)
async def network_csv(recorder: RecorderDep, caller: Caller, year: Year, as_of: AsOf = None) -> Response:
    answer = await _network(recorder, caller, year, as_of)
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
