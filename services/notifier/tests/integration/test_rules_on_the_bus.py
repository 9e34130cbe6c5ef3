"""Each rule fires with the right recipients and text, from events on the real topics to the
inboxes, the units' webhooks and e-mail; every delivery is published, traceable to its cause."""

from __future__ import annotations

import json
import uuid
from datetime import date

from notifier_story import CHANGAN, DISTRICT, JIANSHE, TENGZHOU, ZHONGXIN, at

from platform_kit.contract import catalogue
from platform_kit.envelope import Envelope
from platform_kit.testing import read_topic_to_end, wait_until


async def test_an_arrival_and_a_move_reach_both_units_inboxes_and_the_new_units_webhook(running, story, receiver):
    await running.subscribe(f"unit:{CHANGAN}", "webhook", receiver.url("changan"))
    her = uuid.uuid4()
    registered = story.registered(her, JIANSHE, at("2013-12-03"))
    moved = story.moved(her, JIANSHE, CHANGAN, at("2014-02-10"))

    await running.publish(registered, moved)

    [arrival, left] = await running.until_inbox(f"unit:{JIANSHE}", 2)
    assert arrival["rule"] == "inflow" and "登记入住建设社区" in arrival["text"]
    assert left["rule"] == "outflow" and "离开建设社区，现居长安社区" in left["text"]
    [moved_in] = await running.until_inbox(f"unit:{CHANGAN}", 1)
    assert "迁入长安社区" in moved_in["text"] and f"居民编号 {her}" in moved_in["text"]
    await running.until_deliveries("webhook", "delivered", 1)
    [hook] = receiver.endpoints["changan"].effects
    assert hook.body["text"] == moved_in["text"] and hook.body["caused_by_event_id"] == str(moved.event_id)


async def test_a_birth_never_reported_alerts_the_town_and_the_district(running, story, smtp):
    await running.subscribe(f"unit:{DISTRICT}", "email", "zhongxin@shizhong.example")
    found = story.birth_discrepancy_found(JIANSHE, at("2013-11-05"), mother=uuid.uuid4())

    await running.publish(found)

    assert {n["recipient"] for n in await running.decided(found)} == {f"unit:{ZHONGXIN}", f"unit:{DISTRICT}"}
    [alert] = await running.until_inbox(f"unit:{ZHONGXIN}", 1)
    assert "漏报出生预警" in alert["text"] and "建设社区经清理清查发现" in alert["text"]
    await running.until_deliveries("email", "delivered", 1)
    [mail] = smtp.mail.to("zhongxin@shizhong.example")
    assert mail["Subject"] == "【市中区流动人口服务】漏报出生预警"
    assert alert["text"] in mail.get_content()


async def test_a_verification_request_asks_the_registration_place(running, story, receiver):
    await running.subscribe(f"place:{TENGZHOU}", "webhook", receiver.url("tengzhou-platform"))
    _, request = story.verification_requested(uuid.uuid4(), JIANSHE, at("2013-12-03"), direction="outgoing",
                                              due_on=date(2014, 1, 2))

    await running.publish(request)

    [asked] = await running.until_inbox(f"place:{TENGZHOU}", 1)
    assert "市中区建设社区请求协查" in asked["text"] and "请于2014年1月2日前回复" in asked["text"]
    await running.until_deliveries("webhook", "delivered", 1)
    assert receiver.endpoints["tengzhou-platform"].effects[0].body["rule"] == "verification_outgoing"


async def test_a_rectification_order_reaches_the_unit(running, story):
    order = story.rectification_required(JIANSHE, "2013", date(2014, 1, 15), at("2013-12-20"))

    await running.publish(order)

    [received] = await running.until_inbox(f"unit:{JIANSHE}", 1)
    assert received["title"] == "整改通知" and "排名第14位" in received["text"]


async def test_each_delivery_is_published_traceable_to_the_event_that_caused_it(running, story, stack, smtp):
    await running.subscribe(f"unit:{CHANGAN}", "email", "changan@shizhong.example")
    her = uuid.uuid4()
    registered = story.registered(her, JIANSHE, at("2013-12-03"))
    moved = story.moved(her, JIANSHE, CHANGAN, at("2014-02-10"))
    await running.publish(registered, moved)
    await running.until_deliveries("inbox", "delivered", 3)
    await running.until_deliveries("email", "delivered", 1)

    async def published() -> list[Envelope]:
        records = await read_topic_to_end(stack.bootstrap_servers, running.notifier.runtime.topics.notifier_events)
        return [Envelope.from_bytes(r.value) for r in records]

    await wait_until(lambda: _count(published, 4), timeout=60, what="four deliveries published")
    events = await published()
    for event in events:
        catalogue.validate(event)
    by_cause = {(e.causation_id, e.payload["recipient"], e.payload["channel"]) for e in events}
    assert by_cause == {
        (registered.event_id, f"unit:{JIANSHE}", "inbox"), (moved.event_id, f"unit:{JIANSHE}", "inbox"),
        (moved.event_id, f"unit:{CHANGAN}", "inbox"), (moved.event_id, f"unit:{CHANGAN}", "email"),
    }
    assert all(e.payload["caused_by_event_id"] == str(e.causation_id) for e in events)
    jianshe = sorted((e for e in events if e.payload["recipient"] == f"unit:{JIANSHE}"), key=lambda e: e.stream_version)
    assert [e.stream_id for e in jianshe] == [f"recipient-unit:{JIANSHE}.inbox"] * 2
    assert [e.payload["rule"] for e in jianshe] == ["inflow", "outflow"]  # a recipient's order, on the bus too
    assert "changan@shizhong.example" not in json.dumps([e.model_dump(mode="json") for e in events])  # no address


async def _count(published, n: int) -> bool:
    return len(await published()) >= n
