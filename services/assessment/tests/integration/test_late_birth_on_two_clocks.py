"""A birth that occurred on 20 December and was recorded on 5 March changes December as it
occurred, but the figures known at 31 December do not see it (docs/assessment.md, example 4)."""

from __future__ import annotations

import pytest

from assessment_examples import JIANSHE, ZHONGXINJIE, worked_examples
from assessment_testing import person_id

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@pytest.fixture
async def examples(running):
    await running.publish(worked_examples().events)
    await running.settled()
    return running


async def december(running, **clocks) -> tuple[int, int]:
    coverage = await running.get(f"/api/units/{JIANSHE}/coverage", period="2013-12", **clocks)
    return next((i["numerator"], i["denominator"]) for i in coverage["indicators"] if i["id"] == "services_where_they_live")


async def test_as_occurred_december_counts_the_newborn(examples):
    assert await december(examples) == (2, 3)
    assert await december(examples, as_of="2013-12-31") == (2, 3)


async def test_known_at_the_end_of_december_the_birth_is_not_seen(examples):
    assert await december(examples, known_at="2013-12-31") == (2, 2)
    assert await december(examples, as_of="2013-12-31", known_at="2013-12-31") == (2, 2)


async def test_it_is_seen_from_the_day_it_was_recorded(examples):
    assert await december(examples, known_at="2014-03-04") == (2, 2)
    assert await december(examples, known_at="2014-03-05") == (2, 3)


async def test_the_scoreboard_known_at_31_december_is_the_one_published_then(examples):
    then = await examples.get("/api/scoreboard", period="2013-12", level="village", parent=ZHONGXINJIE, known_at="2013-12-31")
    now = await examples.get("/api/scoreboard", period="2013-12", level="village", parent=ZHONGXINJIE)
    jianshe_then = next(r for r in then["rows"] if r["unit_code"] == JIANSHE)
    jianshe_now = next(r for r in now["rows"] if r["unit_code"] == JIANSHE)
    assert jianshe_then["indicators"]["services_where_they_live"]["band"] == "green"  # 2 of 2
    assert jianshe_now["indicators"]["services_where_they_live"]["band"] == "red"  # 2 of 3
    assert jianshe_now["score"] < jianshe_then["score"]
    assert (then["source"], now["source"]) == ("history", "live")


async def test_the_explanation_known_at_31_december_does_not_name_the_newborn(examples):
    baby = str(person_id("wang_xiaobao"))
    args = {"indicator": "services_where_they_live", "period": "2013-12"}
    then = await examples.get(f"/api/units/{JIANSHE}/explain", **args, known_at="2013-12-31")
    now = await examples.get(f"/api/units/{JIANSHE}/explain", **args)
    assert baby not in {p["resident_id"] for p in then["people"]}
    [newborn] = [p for p in now["people"] if p["resident_id"] == baby]
    assert not newborn["served"]
    birth = next(e for e in newborn["events"] if e["event_type"] == "BirthReported")
    assert (birth["occurred_at"][:10], birth["recorded_at"][:10]) == ("2013-12-20", "2014-03-05")
