"""``GET /api/scoreboard/stream``: the scoreboard as server-sent events, sent again whenever
it changes (a new event applied, a veto, a published ranking), with keep-alives between."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from assessment.changes import ChangeFeed
from assessment.entrypoints.cache import ScoreboardCache
from assessment.entrypoints.params import Seen, not_found, seen
from assessment.queries import UnknownUnit


def stream_router(boards: ScoreboardCache, feed: ChangeFeed, heartbeat_seconds: float) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get(
        "/scoreboard/stream", tags=["scoreboard"], response_class=StreamingResponse,
        summary="The scoreboard as server-sent events (event: scoreboard), pushed on every change",
    )
    async def stream(
        asked: Annotated[Seen, Depends(seen)], level: Literal["town", "village"] = "town", parent: str | None = None
    ) -> StreamingResponse:
        try:
            boards.scoreboards.groups(level, parent)
        except UnknownUnit as error:
            raise not_found(error) from None

        async def events() -> AsyncIterator[str]:
            version, last = feed.version, None
            while True:
                board = json.dumps(
                    await boards.scoreboard(asked.period, level, parent, asked.clocks), ensure_ascii=False, default=str
                )
                if board != last:
                    yield f"event: scoreboard\nid: {version}\ndata: {board}\n\n"
                    last = board
                changed = await feed.wait(version, heartbeat_seconds)
                if changed == version:
                    yield ": still here\n\n"
                version = changed

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    return router
