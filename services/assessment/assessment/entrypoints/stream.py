"""``GET /api/scoreboard/stream``: the scoreboard as server-sent events, sent again whenever
it changes (a new event applied, a veto, a published ranking), with keep-alives between."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from assessment.entrypoints.params import Asked, Level, Parent, Service
from platform_kit import problems

router = APIRouter(prefix="/api")


class EventStream(StreamingResponse):
    """Server-sent events; the class names the media type, so the OpenAPI document does too."""

    media_type = "text/event-stream"


@router.get(
    "/scoreboard/stream", tags=["scoreboard"], response_class=EventStream,
    responses={
        200: {
            "description": "`event: scoreboard` with the scoreboard as JSON (as `GET /api/scoreboard`), "
            "sent first and again on every change; `: still here` comments between",
            # Before OpenAPI 3.2 (itemSchema), an event stream's schema describes one event.
            "content": {"text/event-stream": {"schema": {
                "type": "object", "required": ["event", "data"],
                "properties": {
                    "event": {"type": "string", "enum": ["scoreboard"]},
                    "id": {"type": "string"},
                    "data": {"type": "string", "contentMediaType": "application/json",
                             "description": "the scoreboard, as GET /api/scoreboard answers it"},
                },
            }}},
        },
        **problems.responses(404, 422),
    },
    summary="The scoreboard as server-sent events (event: scoreboard), pushed on every change",
)
async def stream(asked: Asked, service: Service, level: Level = "town", parent: Parent = None) -> EventStream:
    service.scoreboards.groups(level, parent)  # an unknown town is refused before the stream starts
    boards, feed = service.boards, service.feed

    async def events() -> AsyncIterator[str]:
        version, last = feed.version, None
        while True:
            board = json.dumps(
                await boards.scoreboard(asked.period, level, parent, asked.clocks), ensure_ascii=False, default=str
            )
            if board != last:
                yield f"event: scoreboard\nid: {version}\ndata: {board}\n\n"
                last = board
            changed = await feed.wait(version, service.stream_heartbeat_seconds)
            if changed == version:
                yield ": still here\n\n"
            version = changed

    return EventStream(events(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
