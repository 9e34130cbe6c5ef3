"""Verification requests between places (协查) over HTTP: listed with their deadlines, answered."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from platform_kit import problems
from platform_kit.calendar import local_date
from platform_kit.http_params import UnitCodeFilter

from registry.domain.commands import ReplyToVerification
from registry.domain.exchange import days_late
from registry.entrypoints.access import Caller, unit_scope
from registry.entrypoints.dependencies import Reg
from registry.entrypoints.residents import recorded
from registry.entrypoints.schemas import Recorded, VerificationView

router = APIRouter(prefix="/api/verification-requests", tags=["cross-region exchange (协查)"])


@router.get("", responses=problems.responses(503), summary="Verification requests; overdue ones are flagged")
async def list_verification_requests(
    registry: Reg,
    caller: Caller,
    unit_code: UnitCodeFilter = None,
    resident_id: Annotated[uuid.UUID | None, Query()] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
    overdue: Annotated[bool, Query(description="only those past their deadline: unanswered, or answered late")] = False,
) -> list[VerificationView]:
    today = local_date(registry.clock())
    rows = await registry.read_model.verifications(
        unit_scope(registry, caller, unit_code), resident_id=resident_id, open_only=open_only,
        overdue_on=today if overdue else None,
    )
    views = []
    for r in rows:
        late = days_late(r["due_on"], r["replied_on"] or today)
        views.append(VerificationView(**{k: r[k] for k in r.keys() if k != "version"}, stream_version=r["version"], days_late=late, overdue=late > 0))
    return views


@router.post(
    "/{request_id:uuid}/reply", responses=problems.responses(404, 409, 503),
    summary="Record the reply to a verification request",
)
async def reply(registry: Reg, request_id: uuid.UUID, command: ReplyToVerification) -> Recorded:
    return recorded(await registry.reply_to_verification(request_id, command))
