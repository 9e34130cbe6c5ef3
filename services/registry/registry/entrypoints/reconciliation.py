"""Reconciliation of births (清理清查) over HTTP: hospital births nobody else reported, sweeps
of a unit for children without a birth record, and what was found."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends

from platform_kit import problems
from platform_kit.auth import require_role
from platform_kit.http_params import UnitCodeFilter

from registry.domain.commands import RunSweep
from registry.entrypoints.access import Caller, may_write_unit, unit_scope
from registry.entrypoints.dependencies import Reg
from registry.entrypoints.schemas import DiscrepancyView, ReconciliationResult
from registry.service_layer.handlers import Registry

router = APIRouter(prefix="/api", tags=["reconciliation (清理清查)"])


async def _found(registry: Registry, ids: list[uuid.UUID]) -> ReconciliationResult:
    rows = await registry.read_model.discrepancies(None, ids) if ids else []
    return ReconciliationResult(found=[DiscrepancyView(**dict(r)) for r in rows])


@router.post(
    "/reconciliation/hospital-births", responses=problems.responses(409, 503),
    summary="Find hospital-reported births nobody else reported (漏报出生)",
    dependencies=[Depends(require_role("district"))],  # the whole district's births: the centre's task
)
async def reconcile_hospital_births(registry: Reg) -> ReconciliationResult:
    """Runs by itself every ``RECONCILIATION_INTERVAL_SECONDS`` as well; a finding is never made twice."""
    return await _found(registry, await registry.reconcile_hospital_births())


@router.post("/sweeps", responses=problems.responses(409, 503), summary="Sweep a unit for children without a birth record (清理清查)")
async def sweep(registry: Reg, command: Annotated[RunSweep, Body()], caller: Caller) -> ReconciliationResult:
    may_write_unit(registry, caller, command.unit_code)
    return await _found(registry, await registry.sweep(command))


@router.get("/discrepancies", responses=problems.responses(503), summary="Births found unreported (BirthDiscrepancyFound)")
async def list_discrepancies(
    registry: Reg, caller: Caller, unit_code: UnitCodeFilter = None
) -> list[DiscrepancyView]:
    rows = await registry.read_model.discrepancies(unit_scope(registry, caller, unit_code))
    return [DiscrepancyView(**dict(r)) for r in rows]
