"""The district centre's decisions over HTTP: a one-vote veto, publishing a ranking (which orders
the bottom units to rectify), a rectification plan; and the orders so far."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from assessment.domain.periods import PERIOD_PATTERN
from assessment.entrypoints import schemas
from assessment.entrypoints.params import Service, parse_period
from platform_kit import problems
from platform_kit.auth import Principal, require_district_action, require_principal
from platform_kit.auth.http import forbidden
from platform_kit.units import unit_tree
from platform_kit.envelope import Envelope

router = APIRouter(prefix="/api", tags=["decisions"])


def _event(event: Envelope) -> dict:
    return event.model_dump(include=set(schemas.EventOut.model_fields), mode="json")


@router.post(
    "/vetoes", status_code=201, response_model=schemas.EventOut,
    # 404: no such unit; 409: vetoed already for the period; 422: the district itself, or a bad body
    responses=problems.responses(404, 409, 422),
    summary="Apply a one-vote veto (一票否决): the unit ranks last for the period",
)
async def veto(
    body: schemas.VetoIn, service: Service, _caller: Principal = Depends(require_district_action("veto"))
) -> dict:
    event = await service.commands.apply_veto(
        unit_code=body.unit_code, period=parse_period(body.period, field="period"), reason=body.reason,
        decided_by=body.decided_by, occurred_at=body.occurred_at,
    )
    await service.feed.changed_here()
    return _event(event)


@router.post(
    "/rankings", status_code=201, response_model=list[schemas.EventOut],
    # 404: no such town; 409: other decisions kept changing it; 422: nobody to rank, or a bad body
    responses=problems.responses(404, 409, 422),
    summary="Publish the ranking as it stands; the bottom unit(s) are ordered to rectify",
)
async def publish(
    body: schemas.RankingIn, service: Service, _caller: Principal = Depends(require_district_action("publish_ranking"))
) -> list[dict]:
    events = await service.commands.publish_ranking(
        period=parse_period(body.period, field="period"), level=body.level, parent=body.parent
    )
    await service.feed.changed_here()
    return [_event(e) for e in events]


@router.post(
    "/rectifications/plans", status_code=201, response_model=schemas.EventOut,
    # 404: no such unit; 409: no open rectification order for it in the period; 422: a bad body
    responses=problems.responses(404, 409, 422),
    summary="Record a unit's written report and rectification plan (书面检查汇报, 整改方案)",
)
async def plan(body: schemas.PlanIn, service: Service, caller: Principal = Depends(require_principal)) -> dict:
    if body.unit_code in unit_tree() and not caller.can_write_unit(body.unit_code, unit_tree()):
        raise forbidden(f"unit_code: {unit_tree()[body.unit_code].name} is outside the units this token may change")
    event = await service.commands.submit_plan(
        unit_code=body.unit_code, period=parse_period(body.period, field="period"), summary=body.summary
    )
    await service.feed.changed_here()
    return _event(event)


@router.get(
    "/rectifications", response_model=list[schemas.RectificationOut], responses=problems.responses(422),
    summary="Rectification orders and whether their plans are in",
)
async def rectifications(
    service: Service, period: Annotated[str | None, Query(pattern=PERIOD_PATTERN, description="only this period")] = None
) -> list[dict]:
    return await service.commands.rectifications(parse_period(period) if period else None)
