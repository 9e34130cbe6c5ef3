"""The live view follows the service's clock: besides the configured years (2013), the current
year and the one before it are live, and a new year is live from 1 January in the same process,
its figures those a computation from history gives, then kept by the projection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assessment_examples import JIANSHE, worked_examples
from assessment_testing import History, instant
from platform_kit.testing import wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
DISTRICT = "370402000000"


def figures(coverage: dict) -> dict[str, tuple[int, int]]:
    return {i["id"]: (i["numerator"], i["denominator"]) for i in coverage["indicators"]}


async def test_a_new_year_is_live_from_the_first_of_january_without_a_restart(settings, serve):
    # 31 December 2014, 23:50 in the district, ten times faster: 2015 begins about a minute in.
    replay = settings.model_copy(update={
        "clock_start": instant("2014-12-31T23:50"), "clock_started_at": datetime.now(UTC), "clock_speed": 10.0,
    })
    async with serve(replay) as running:
        live = running.service.runtime.declaration.extra["services"].live
        assert live.years == {2013, 2014}  # configured, this year, and the one before
        await running.publish(worked_examples().events)
        await running.settled()
        assert (await running.get(f"/api/units/{JIANSHE}/coverage", period="2014"))["source"] == "live"
        assert (await running.get(f"/api/units/{JIANSHE}/coverage", period="2015"))["source"] == "history"
        from_history = {u: figures(await running.get(f"/api/units/{u}/coverage", period="2015")) for u in (JIANSHE, DISTRICT)}
        assert from_history[JIANSHE]["services_where_they_live"][1] > 0  # people still living there count in 2015

        async def live_in_2015() -> bool:
            return (await running.get(f"/api/units/{JIANSHE}/coverage", period="2015"))["source"] == "live"

        await wait_until(live_in_2015, timeout=180, what="2015 live after 1 January")
        assert live.years == {2013, 2014, 2015}  # 2013 stays: configured; no year is ever dropped
        for unit, expected in from_history.items():
            assert figures(await running.get(f"/api/units/{unit}/coverage", period="2015")) == expected, unit

        # From then on the projection keeps 2015: a newcomer on 2 January counts at once.
        h = History(salt="newyear")
        h.registered("newcomer", unit=JIANSHE, at="2015-01-02", sex="male", born="1990-01-01", recorded=datetime.now(UTC))
        await running.publish(h.events)
        await running.settled()
        after = await running.get(f"/api/units/{JIANSHE}/coverage", period="2015-01")
        assert after["source"] == "live"
        n, d = from_history[JIANSHE]["services_where_they_live"]
        assert figures(await running.get(f"/api/units/{JIANSHE}/coverage", period="2015"))["services_where_they_live"] == (n, d + 1)
