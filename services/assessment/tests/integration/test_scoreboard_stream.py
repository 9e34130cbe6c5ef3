"""``/api/scoreboard/stream`` pushes the scoreboard again when a new event changes it."""

from __future__ import annotations

import asyncio
import json

import pytest

from assessment_examples import JIANSHE, ZHONGXINJIE
from assessment_testing import History

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def boards(response):
    """The scoreboards the stream sends, one by one (keep-alive comments skipped)."""
    data = []
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            data.append(line[len("data: "):])
        elif line == "" and data:
            yield json.loads("\n".join(data))
            data = []


async def test_a_new_event_is_pushed_to_the_stream(running):
    h = History()
    h.registered("li", unit=JIANSHE, at="2013-05-02")
    await running.publish(h.events)
    await running.settled()
    params = {"period": "2013-05", "level": "village", "parent": ZHONGXINJIE}
    async with asyncio.timeout(60), running.http.stream("GET", "/api/scoreboard/stream", params=params) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = boards(response)
        first = await anext(stream)
        jianshe = next(r for r in first["rows"] if r["unit_code"] == JIANSHE)
        assert jianshe["indicators"]["free_pregnancy_checks"]["numerator"] == 0

        h.served("li", "pregnancy_check", by=JIANSHE, at="2013-05-20")
        await running.publish(h.events[-1:])
        async for board in stream:
            jianshe = next(r for r in board["rows"] if r["unit_code"] == JIANSHE)
            if jianshe["indicators"]["free_pregnancy_checks"]["numerator"] == 1:
                break
        assert jianshe["indicators"]["free_pregnancy_checks"]["band"] == "green"


async def test_a_stream_for_an_unknown_town_is_refused_before_it_starts(running):
    response = await running.http.get("/api/scoreboard/stream", params={"period": "2013", "level": "village", "parent": "370402999000"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "query.parent"
