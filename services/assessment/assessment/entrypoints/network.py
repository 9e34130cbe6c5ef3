"""The network on the assessment's page: ``GET /api/network`` (and ``.csv``) passed through to
the services log, which owns the roster and its figures (docs/network.md).

Why a pass-through and not CORS: the page has one origin, the assessment's, which is the one
port a district's IT team opens to the office network; the services log stays on the back
network, and no list of allowed origins has to follow the district's host names. The caller's
own token goes on, so the services log decides the caller's scope exactly as when asked directly;
the assessment keeps no copy of the figures, so they cannot disagree."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Query, Request, Response

from platform_kit import problems
from platform_kit.problems import Refusal
from platform_kit.runtime import runtime_of

router = APIRouter(prefix="/api", tags=["network"])
Year = Annotated[int, Query(ge=2000, le=2100, description="the calendar year")]
AsOf = Annotated[str | None, Query(description="staff counted on this day (the services log checks it)", max_length=40)]
# What the answer may carry back: its body's type and the export's file name, nothing of the
# services log's own (its security headers are the assessment's to set).
PASSED_BACK = ("content-type", "content-disposition")


async def _pass_through(request: Request, path: str) -> Response:
    base = runtime_of(request).settings.services_log_url
    if base is None:
        raise Refusal("services_log_url", "is not set: this assessment does not show the network", kind="unavailable")
    params = {k: v for k, v in request.query_params.items()}
    headers = {"Authorization": request.headers.get("authorization", "")}
    try:
        async with httpx.AsyncClient(base_url=str(base), timeout=30) as client:
            answer = await client.get(path, params=params, headers=headers)
    except httpx.HTTPError:
        raise Refusal("services_log_url", "the services log does not answer; try again", kind="unavailable") from None
    kept = {k: v for k, v in answer.headers.items() if k.lower() in PASSED_BACK}
    return Response(answer.content, status_code=answer.status_code, headers=kept)


@router.get(
    "/network", responses=problems.responses(422, 503),
    summary="A year of the network per unit (from the services log, with the caller's token)",
)
async def network(request: Request, year: Year, as_of: AsOf = None) -> Response:
    """The services log's ``GET /api/network``: staff counts, training person-times, association
    activities per unit, the district's totals and the document's 177 / 927 / 13 / 400+."""
    return await _pass_through(request, "/api/network")


@router.get(
    "/network.csv", responses={200: {"content": {"text/csv": {}}}, **problems.responses(422, 503)},
    summary="The year of the network as CSV (from the services log)",
)
async def network_csv(request: Request, year: Year, as_of: AsOf = None) -> Response:
    return await _pass_through(request, "/api/network.csv")
