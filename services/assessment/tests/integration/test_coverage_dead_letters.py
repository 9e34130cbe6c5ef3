"""What the assessment cannot read is parked on its dead-letter topic with the reason, and
changes nothing; what it does not need is read and ignored."""

from __future__ import annotations

import uuid

import pytest

from assessment_examples import JIANSHE
from assessment_testing import History
from platform_kit.envelope import Envelope
from platform_kit.testing import read_topic_to_end
from platform_kit.topics import dead_letter_topic

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def test_a_move_without_its_destination_is_dead_lettered_and_a_training_ignored(running):
    h = History()
    h.registered("li", unit=JIANSHE, at="2013-03-01")
    broken = h.moved("li", to="370402001002", at="2013-04-01")
    broken = broken.model_copy(update={"payload": {k: v for k, v in broken.payload.items() if k != "to_unit"}})
    training = Envelope.new(
        event_type="TrainingHeld", stream_id=f"training-{uuid.uuid4()}", stream_version=1, unit_code=JIANSHE,
        source="services-log", occurred_at=h.events[0].occurred_at,
        payload={"training_id": str(uuid.uuid4()), "topic": "流动人口服务管理员培训", "person_times": 40, "trainee_refs": []},
    )
    await running.publish([h.events[0], broken, training])
    await running.settled(dead_letters=1)

    coverage = await running.get(f"/api/units/{JIANSHE}/coverage", period="2013-Q2")
    assert next(i for i in coverage["indicators"] if i["id"] == "services_where_they_live")["denominator"] == 1  # still here
    letters = await read_topic_to_end(running.service.settings.kafka_bootstrap_servers, dead_letter_topic(running.runner.group_id))
    [letter] = letters
    assert dict(letter.headers)["reason"].decode().startswith("ValidationError")
    assert b"to_unit" in dict(letter.headers)["reason"]

