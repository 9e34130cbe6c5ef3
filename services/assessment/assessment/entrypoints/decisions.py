"""The district centre's decisions over HTTP: a one-vote veto, publishing a ranking (which orders
the bottom units to rectify), and the rectification cycle (docs/rectification.md): a unit's
written report and plan, the district's review, the follow-up check; the orders so far."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from assessment.domain.periods import PERIOD_PATTERN
from assessment.entrypoints import schemas
from assessment.entrypoints.params import AsOf, KnownAt, Service, UnitCode, parse_clocks, parse_period, unit_in_scope
from platform_kit import problems
from platform_kit.auth import Principal, require_district_action, require_principal
from platform_kit.auth.http import forbidden
from platform_kit.units import unit_tree
from platform_kit.envelope import Envelope
from platform_kit.http_params import FOLDED

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
        decided_by=body.decided_by, occurred_at=body.occurred_at, responsible=[r.model_dump() for r in body.responsible],
    )
    await service.feed.changed_here()
    return _event(event)


@router.post(
    "/vetoes/revocations", status_code=201, response_model=schemas.EventOut,
    # 404: no such unit; 409: no veto in force for it in the period; 422: a bad body
    responses=problems.responses(404, 409, 422),
    summary="Revoke a veto by a later decision: the unit is ranked (and may be rewarded) again",
)
async def revoke(
    body: schemas.VetoRevocationIn, service: Service, _caller: Principal = Depends(require_district_action("veto"))
) -> dict:
    event = await service.commands.revoke_veto(
        unit_code=body.unit_code, period=parse_period(body.period, field="period"), reason=body.reason,
        decided_by=body.decided_by,
    )
    await service.feed.changed_here()
    return _event(event)


@router.get(
    "/vetoes", response_model=list[schemas.VetoOut], responses=problems.responses(422),
    summary="Vetoes in force and revoked; the responsible people's names to the district only",
)
async def vetoes(
    service: Service, caller: Principal = Depends(require_principal),
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN, description="only this period")] = None,
    as_of: AsOf = None, known_at: KnownAt = None,
) -> list[dict]:
    """With ``as_of``: the vetoes decided (and revocations made) by then, so a veto revoked later
    is in force; with ``known_at``: only what had been recorded by then."""
    clocks = parse_clocks(as_of, known_at)
    return await service.commands.vetoes(
        parse_period(period) if period else None, with_names=caller.role == "district", clocks=clocks
    )


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


def _may_write(caller: Principal, unit_code: str) -> None:
    if unit_code in unit_tree() and not caller.can_write_unit(unit_code, unit_tree()):
        raise forbidden(f"unit_code: {unit_tree()[unit_code].name} is outside the units this token may change")


@router.post(
    "/rectifications/plans", status_code=201, response_model=schemas.EventOut,
    # 404: no such unit; 409: no plan owed for it in the period; 422: a bad body or documents
    responses=problems.responses(404, 409, 422),
    summary="Hand in a unit's written report and rectification plan (书面检查汇报, 整改方案), as documents",
)
async def plan(body: schemas.PlanIn, service: Service, caller: Principal = Depends(require_principal)) -> dict:
    _may_write(caller, body.unit_code)
    event = await service.commands.submit_plan(
        unit_code=body.unit_code, period=parse_period(body.period, field="period"), summary=body.summary,
        documents=[d.model_dump() for d in body.documents],
    )
    await service.feed.changed_here()
    return _event(event)


@router.post(
    "/rectifications/reviews", status_code=201, response_model=schemas.EventOut,
    # 404: no such unit; 409: no plan awaiting review; 422: a bad body or a due date not in the future
    responses=problems.responses(404, 409, 422),
    summary="The district accepts a plan (the check is due by `due`) or returns it (due again by `due`), with reasons",
)
async def review(
    body: schemas.ReviewIn, service: Service,
    _caller: Principal = Depends(require_district_action("review_rectification")),
) -> dict:
    event = await service.commands.review_plan(
        unit_code=body.unit_code, period=parse_period(body.period, field="period"), accept=body.decision == "accept",
        reasons=body.reasons, due=body.due, decided_by=body.decided_by,
    )
    await service.feed.changed_here()
    return _event(event)


@router.post(
    "/rectifications/checks", status_code=201, response_model=schemas.EventOut,
    # 404: no such unit; 409: no accepted plan to check; 422: a bad body
    responses=problems.responses(404, 409, 422),
    summary="The follow-up check of an accepted plan: rectified or not; closes the order",
)
async def check(
    body: schemas.CheckIn, service: Service,
    _caller: Principal = Depends(require_district_action("review_rectification")),
) -> dict:
    event = await service.commands.check(
        unit_code=body.unit_code, period=parse_period(body.period, field="period"),
        rectified=body.result == "rectified", findings=body.findings, checked_by=body.checked_by,
    )
    await service.feed.changed_here()
    return _event(event)


@router.get(
    "/rectifications/documents/{sha256}", responses={200: {"content": {"*/*": {}}}, **problems.responses(403, 404)},
    response_class=Response, summary="A handed-in document's bytes (its unit's readers and the district)",
)
async def document(
    sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")], service: Service,
    caller: Principal = Depends(require_principal),
) -> Response:
    found = await service.commands.document(sha256)
    # Another unit's document is "not found": whether it exists is that unit's business.
    if found is None or not caller.can_read_unit(found[2], unit_tree()):
        raise problems.NotFound("sha256", "no document with this hash that this token may read")
    media_type, content, _ = found
    return Response(content, media_type=media_type)


@router.get(
    "/rectifications", response_model=list[schemas.RectificationOut], responses=problems.responses(422),
    summary="Rectification orders and where each stands; `open=true`: those not yet checked, the next deadline first",
)
async def rectifications(
    service: Service,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN, description="only this period")] = None,
    unit_code: Annotated[str | None, Query(pattern=r"^[0-9]{12}$", description="only this unit"), FOLDED] = None,
    open: Annotated[bool, Query(description="only orders not yet closed by a check")] = False,  # noqa: A002
    as_of: AsOf = None, known_at: KnownAt = None,
) -> list[dict]:
    """With ``as_of``/``known_at``: each order as it stood then (its plan, review, check and
    deadline as decided by ``as_of``, recorded by ``known_at``); an order issued later is absent."""
    clocks = parse_clocks(as_of, known_at)
    return await service.commands.rectifications(
        parse_period(period) if period else None, unit_code=unit_code, open_only=open, clocks=clocks
    )


@router.post(
    "/letters", status_code=201, response_model=schemas.EventOut,
    # 404: no such unit; 409: signed already for the year; 422: unknown indicator, a rate out of range, signed too late
    responses=problems.responses(403, 404, 409, 422),
    summary="Record a unit's responsibility letter (目标责任书): its targets for a year, signed at the start of it",
)
async def sign_letter(body: schemas.LetterIn, service: Service, caller: Principal = Depends(require_principal)) -> dict:
    # Signed with the office above: the district, or a town with its own villages; never by the unit alone.
    if caller.role not in ("district", "town") or caller.role == "town" and body.unit_code in caller.units:
        raise forbidden("unit_code: a letter is signed by the office above the unit")
    _may_write(caller, body.unit_code)
    event = await service.commands.sign_letter(
        unit_code=body.unit_code, year=body.year, targets=body.targets, signed_on=body.signed_on, signed_by=body.signed_by
    )
    await service.feed.changed_here()
    return _event(event)


@router.post(
    "/letters/amendments", status_code=201, response_model=schemas.EventOut,
    # 404: no such unit, or no letter for the year; 422: unknown indicator, a rate out of range, nothing changed
    responses=problems.responses(403, 404, 422),
    summary="Amend a responsibility letter's targets by a later decision, with the reason; the letter and each amendment are kept",
)
async def amend_letter(
    body: schemas.LetterAmendmentIn, service: Service, caller: Principal = Depends(require_principal)
) -> dict:
    # Amended by whom it was signed with: the office above the unit, as the letter itself.
    if caller.role not in ("district", "town") or caller.role == "town" and body.unit_code in caller.units:
        raise forbidden("unit_code: a letter is amended by the office above the unit")
    _may_write(caller, body.unit_code)
    event = await service.commands.amend_letter(
        unit_code=body.unit_code, year=body.year, targets=body.targets, reason=body.reason,
        decided_by=body.decided_by, occurred_at=body.occurred_at,
    )
    await service.feed.changed_here()
    return _event(event)


@router.get(
    "/units/{unit_code}/letter", response_model=schemas.LetterOut, responses=problems.responses(403, 404, 422),
    summary="The unit's responsibility letter for a year beside its figures for that year",
)
async def letter(
    unit_code: UnitCode, year: Annotated[int, Query(ge=1900, le=2999)], service: Service,
    as_of: AsOf = None, known_at: KnownAt = None, _caller: Principal = Depends(unit_in_scope),
) -> dict:
    return await service.commands.letter(unit_code, year, parse_clocks(as_of, known_at))
