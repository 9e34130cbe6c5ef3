"""The HTTP API: coverage, explanations, trends and the scoreboard (read, on both clocks),
and the district centre's commands (veto, publish a ranking, record a rectification plan)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse

from assessment.changes import ChangeFeed
from assessment.commands import Commands
from assessment.domain.decisions import Refused
from assessment.entrypoints import schemas
from assessment.entrypoints.cache import ScoreboardCache
from assessment.entrypoints.params import Seen, invalid, not_found, parse_clocks, parse_period, seen
from assessment.queries import Reads, UnknownUnit
from platform_kit.envelope import Envelope

Level = Literal["town", "village"]


def _event(event: Envelope) -> dict:
    return event.model_dump(include=set(schemas.EventOut.model_fields), mode="json")


def _refused(error: Refused) -> HTTPException:
    return HTTPException(error.status, detail=[{"loc": ["body", error.field], "msg": error.reason, "type": "refused"}])


def api_router(reads: Reads, commands: Commands, boards: ScoreboardCache, feed: ChangeFeed) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get("/units", tags=["units"], response_model=schemas.UnitsOut, summary="The unit tree 区—镇(街)—村(居)")
    async def units() -> dict:
        return reads.units()

    @router.get("/indicators", tags=["units"], response_model=list[schemas.IndicatorMeta], summary="The indicators, their targets and weights")
    async def indicators() -> list[dict]:
        return reads.indicators_json()

    @router.get("/rules", tags=["units"], response_model=schemas.RulesOut, summary="The assessment's rules (indicators.toml)")
    async def rules() -> dict:
        return reads.rules_json()

    @router.get(
        "/units/{unit_code}/coverage", tags=["coverage"], response_model=schemas.CoverageOut,
        summary="Every indicator of one unit for one period: numerator, denominator, rate, target, gap, band",
    )
    async def coverage(unit_code: str, asked: Annotated[Seen, Depends(seen)]) -> dict:
        try:
            return await reads.coverage_of(unit_code, asked.period, asked.clocks)
        except UnknownUnit as error:
            raise not_found(error) from None

    @router.get(
        "/units/{unit_code}/explain", tags=["coverage"], response_model=schemas.ExplainOut,
        summary="Why the figure is what it is: everyone counted, served or not, and the events that counted them",
    )
    async def explain(unit_code: str, indicator: Annotated[str, Query()], asked: Annotated[Seen, Depends(seen)]) -> dict:
        try:
            return await reads.explain(unit_code, indicator, asked.period, asked.clocks)
        except UnknownUnit as error:
            raise not_found(error) from None

    @router.get(
        "/units/{unit_code}/trend", tags=["coverage"], response_model=schemas.TrendOut,
        summary="Each indicator month by month through one year",
    )
    async def trend(
        unit_code: str, year: Annotated[int, Query(ge=2000, le=2100)],
        as_of: Annotated[str | None, Query()] = None, known_at: Annotated[str | None, Query()] = None,
    ) -> dict:
        try:
            return await reads.trend(unit_code, year, parse_clocks(as_of, known_at))
        except UnknownUnit as error:
            raise not_found(error) from None

    @router.get(
        "/scoreboard", tags=["scoreboard"], response_model=schemas.ScoreboardOut,
        summary="The league table: towns among towns, or villages within their town",
    )
    async def scoreboard(
        asked: Annotated[Seen, Depends(seen)], level: Level = "town", parent: str | None = None
    ) -> JSONResponse:
        try:
            # Returned as is: validating it again against the response model costs more than computing it.
            return JSONResponse(await boards.scoreboard(asked.period, level, parent, asked.clocks))
        except UnknownUnit as error:
            raise not_found(error) from None

    @router.post("/vetoes", tags=["decisions"], status_code=201, response_model=schemas.EventOut,
                 summary="Apply a one-vote veto (一票否决): the unit ranks last for the period")
    async def veto(body: schemas.VetoIn) -> dict:
        try:
            event = await commands.apply_veto(
                unit_code=body.unit_code, period=parse_period(body.period), reason=body.reason,
                decided_by=body.decided_by, occurred_at=body.occurred_at,
            )
        except Refused as error:
            raise _refused(error) from None
        await feed.changed_here()
        return _event(event)

    @router.post("/rankings", tags=["decisions"], status_code=201, response_model=list[schemas.EventOut],
                 summary="Publish the ranking as it stands; the bottom unit(s) are ordered to rectify")
    async def publish(body: schemas.RankingIn) -> list[dict]:
        try:
            events = await commands.publish_ranking(period=parse_period(body.period), level=body.level, parent=body.parent)
        except Refused as error:
            raise _refused(error) from None
        except UnknownUnit as error:
            raise invalid("body", "parent", str(error).partition(": ")[2], 404) from None
        await feed.changed_here()
        return [_event(e) for e in events]

    @router.post("/rectifications/plans", tags=["decisions"], status_code=201, response_model=schemas.EventOut,
                 summary="Record a unit's written report and rectification plan (书面检查汇报, 整改方案)")
    async def plan(body: schemas.PlanIn) -> dict:
        try:
            event = await commands.submit_plan(unit_code=body.unit_code, period=parse_period(body.period), summary=body.summary)
        except Refused as error:
            raise _refused(error) from None
        await feed.changed_here()
        return _event(event)

    @router.get("/rectifications", tags=["decisions"], response_model=list[schemas.RectificationOut],
                summary="Rectification orders and whether their plans are in")
    async def rectifications(period: str | None = None) -> list[dict]:
        return await commands.rectifications(parse_period(period) if period else None)

    return router
