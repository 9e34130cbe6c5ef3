"""Tasks back to departments over HTTP: run the sweep that issues them (the district's), and see
every task with its deadline and whether it is closed (docs/department-tasks.md)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from platform_kit import problems
from platform_kit.auth import Principal, require_principal, require_role
from platform_kit.contract.common import ContractDate
from platform_kit.runtime import runtime_of
from platform_kit.units import unit_tree
from registry.adapters import tasks as sql
from registry.service_layer.tasks import DepartmentTasks

TASKS = "department_tasks"  # where the bootstrap's setup keeps them: declaration.extra[TASKS]
router = APIRouter(prefix="/api/department-tasks", tags=["department tasks"])
Department = Literal["education", "health", "public-security"]


def tasks_of(request: Request) -> DepartmentTasks:
    declaration = runtime_of(request).declaration
    tasks = declaration.extra.get(TASKS) if declaration is not None else None
    if tasks is None:
        raise problems.Refusal("service", "the registry is starting; try again in a moment", kind="unavailable")
    return tasks


Tasks = Annotated[DepartmentTasks, Depends(tasks_of)]


_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _written_date(value: object) -> object:
    """A JSON date is text, YYYY-MM-DD: pydantic's lax mode would take ``0`` as 1970-01-01 and
    ``"2024-01-02T00:00:00"`` as a day, neither of which the document calls a date."""
    if value is None or isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise PydanticCustomError("date_type", "must be a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date_from_datetime_parsing", "is no day of the calendar") from None


class SweepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    on: Annotated[ContractDate, BeforeValidator(_written_date)] | None = Field(
        None, description="the day the sweep looks from; today (the service's clock) when absent"
    )


class TaskView(BaseModel):
    task_id: uuid.UUID
    department: Department
    kind: Literal["enrol_child", "pregnancy_check", "renew_permit"]
    resident_id: uuid.UUID
    unit_code: str
    period: str
    due_on: date
    issued_at: datetime
    closed_at: datetime | None
    outcome: str | None


class SweepResult(BaseModel):
    issued: int
    by_department: dict[str, int]


@router.post(
    "/sweep", responses=problems.responses(422, 503), summary="Issue the tasks due to each department",
    dependencies=[Depends(require_role("district"))],  # the whole district's people: the centre's task
)
async def sweep(tasks: Tasks, body: SweepRequest | None = None) -> SweepResult:
    """Children of school age not enrolled → education; married women of 15-49 not checked this
    quarter → health; residence permits expiring within the notice period → public security. A
    task issued before is not issued again."""
    issued = await tasks.sweep(body.on if body else None)
    counts: dict[str, int] = {}
    for task in issued:
        counts[task.department] = counts.get(task.department, 0) + 1
    return SweepResult(issued=len(issued), by_department=counts)


@router.get("", responses=problems.responses(422, 503), summary="Tasks with their deadlines, open or closed")
async def list_tasks(
    tasks: Tasks,
    caller: Annotated[Principal, Depends(require_principal)],
    department: Annotated[Department | None, Query()] = None,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[TaskView]:
    """No personal data: who a task is for is a resident id; the department alone opens the name."""
    rows = await sql.listed(tasks.pool, tasks.schema, department=department, status=status, limit=limit)
    tree = unit_tree()
    return [TaskView(**dict(r)) for r in rows if caller.can_read_unit(r["unit_code"], tree)]
