"""Reading the assessment over HTTP: the units and the rules, coverage, explanations and trends,
and the scoreboard, each on both clocks."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from assessment.entrypoints import schemas
from assessment.entrypoints.params import (
    Asked,
    AsOf,
    KnownAt,
    Level,
    Parent,
    Service,
    UnitCode,
    parse_clocks,
    unit_in_scope,
)
from platform_kit import problems

router = APIRouter(prefix="/api")
ASKED_ABOUT = problems.responses(404, 422)  # an unknown unit (or indicator); a bad period, clock or code


@router.get("/units", tags=["units"], response_model=schemas.UnitsOut, summary="The unit tree 区—镇(街)—村(居)")
async def units(service: Service) -> dict:
    return service.reads.units()


@router.get(
    "/indicators", tags=["units"], response_model=list[schemas.IndicatorMeta],
    summary="The indicators, their targets and weights",
)
async def indicators(service: Service) -> list[dict]:
    return service.reads.indicators_json()


@router.get("/rules", tags=["units"], response_model=schemas.RulesOut, summary="The assessment's rules (indicators.toml)")
async def rules(service: Service) -> dict:
    return service.reads.rules_json()


@router.get(
    "/units/{unit_code}/coverage", tags=["coverage"], response_model=schemas.CoverageOut, responses=ASKED_ABOUT,
    dependencies=[Depends(unit_in_scope)],
    summary="Every indicator of one unit for one period: numerator, denominator, rate, target, gap, band",
)
async def coverage(
    unit_code: UnitCode, asked: Asked, service: Service,
    population: Annotated[
        Literal["migrant", "registered"],
        Query(description="whom to count: migrants (流动人口, the live view) or the registered population (户籍人口, computed on request)"),
    ] = "migrant",
) -> dict:
    return await service.reads.coverage_of(unit_code, asked.period, asked.clocks, population)


@router.get(
    "/units/{unit_code}/equalisation", tags=["coverage"], response_model=schemas.EqualisationOut, responses=ASKED_ABOUT,
    summary="均等化: every indicator for migrants and the registered population, and the gap in points",
)
async def equalisation(unit_code: UnitCode, asked: Asked, service: Service) -> dict:
    return await service.reads.equalisation(unit_code, asked.period, asked.clocks)


@router.get(
    "/units/{unit_code}/explain", tags=["coverage"], response_model=schemas.ExplainOut, responses=ASKED_ABOUT,
    dependencies=[Depends(unit_in_scope)],
    summary="Why the figure is what it is: everyone counted, served or not, and the events that counted them",
)
async def explain(
    unit_code: UnitCode, indicator: Annotated[str, Query(max_length=60)], asked: Asked, service: Service
) -> dict:
    return await service.reads.explain(unit_code, indicator, asked.period, asked.clocks)


@router.get(
    "/units/{unit_code}/trend", tags=["coverage"], response_model=schemas.TrendOut, responses=ASKED_ABOUT,
    dependencies=[Depends(unit_in_scope)],
    summary="Each indicator month by month through one year",
)
async def trend(
    unit_code: UnitCode, year: Annotated[int, Query(ge=2000, le=2100)], service: Service,
    as_of: AsOf = None, known_at: KnownAt = None,
) -> dict:
    return await service.reads.trend(unit_code, year, parse_clocks(as_of, known_at))


@router.get(
    "/scoreboard", tags=["scoreboard"], response_model=schemas.ScoreboardOut, responses=ASKED_ABOUT,
    summary="The league table: towns among towns, or villages within their town",
)
async def scoreboard(asked: Asked, service: Service, level: Level = "town", parent: Parent = None) -> JSONResponse:
    # Returned as is: validating it again against the response model costs more than computing it.
    return JSONResponse(await service.boards.scoreboard(asked.period, level, parent, asked.clocks))
