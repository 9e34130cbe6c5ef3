"""The channels against real receivers: a receiver that is down is retried with back-off and
then dead-lettered with the reason, without holding up anything else; a recipient's
notifications arrive in the order they were decided; SMS waits out the night."""

from __future__ import annotations

import uuid
from datetime import timedelta

from notifier_story import CHANGAN, JIANSHE, at

from platform_kit.envelope import Envelope
from platform_kit.testing import read_topic_to_end


MINUTE = timedelta(minutes=1)


async def test_a_webhook_that_is_down_is_retried_with_back_off_then_dead_lettered_with_the_reason(
    start_notifier, story, receiver, smtp, stack
):
    running = await start_notifier(max_attempts=4, retry_base_seconds=60)
    jianshe = f"unit:{JIANSHE}"
    await running.subscribe(jianshe, "webhook", receiver.url("jianshe"))
    await running.subscribe(jianshe, "email", "jianshe@shizhong.example")
    receiver.endpoints["jianshe"].down = True
    await running.publish(story.registered(uuid.uuid4(), JIANSHE, at("2013-12-03")))

    for attempt in (1, 2, 3):
        failing = await running.until_attempted("webhook", jianshe, attempt)
        running.clock.set(failing["next_attempt_at"])
    [dead] = await running.until_deliveries("webhook", "dead", 1)

    assert dead["attempts"] == 4 and receiver.endpoints["jianshe"].attempts == 4
    assert dead["last_error"] == "HTTP 503 from the webhook: Service Unavailable"
    tries = await running.pool.fetch(
        f"SELECT * FROM {running.schema}.delivery_attempts WHERE delivery_id = $1 ORDER BY attempt", dead["delivery_id"]
    )
    assert [t["retry_at"] - t["attempted_at"] for t in tries if t["retry_at"]] == [MINUTE, 2 * MINUTE, 4 * MINUTE]
    assert [t["outcome"] for t in tries] == ["failed", "failed", "failed", "dead"]
    # the other channels did not wait for it
    assert len(await running.deliveries("inbox", "delivered")) == 1
    assert len(smtp.mail.to("jianshe@shizhong.example")) == 1

    records = await read_topic_to_end(stack.bootstrap_servers, running.notifier.runtime.topics.notifier_events)
    published = [Envelope.from_bytes(r.value) for r in records]
    [letter] = [e for e in published if e.event_type == "NotificationDeadLettered"]
    assert letter.payload["reason"] == dead["last_error"] and letter.payload["attempts"] == 4
    assert letter.payload["delivery_id"] == str(dead["delivery_id"])

    async with running.api() as api:  # staff see the dead letter, fix the unit's system, and send it again
        [listed] = (await api.get("/api/dead-letters", params={"channel": "webhook"})).json()
        # The listing gives the receiver's status, not what its answer body said (docs/security.md).
        assert listed["reason"] == "HTTP 503 from the webhook" and "Service Unavailable" not in str(listed)
        assert listed["rule"] == "inflow" and listed["attempts"] == 4
        receiver.endpoints["jianshe"].down = False
        assert (await api.post(f"/api/dead-letters/{listed['delivery_id']}/retry")).status_code == 202
    await running.until_deliveries("webhook", "delivered", 1)
    assert [r.key for r in receiver.endpoints["jianshe"].effects] == [str(dead["delivery_id"])]


async def test_a_receiver_that_refuses_for_good_is_dead_lettered_at_once(running, story, receiver):
    await running.subscribe(f"unit:{JIANSHE}", "webhook", receiver.url("jianshe"))
    receiver.endpoints["jianshe"].fail_next.append(410)

    await running.publish(story.registered(uuid.uuid4(), JIANSHE, at("2013-12-03")))

    [dead] = await running.until_deliveries("webhook", "dead", 1)
    assert dead["attempts"] == 1 and dead["last_error"].startswith("HTTP 410 from the webhook")


async def test_a_recipient_that_is_down_does_not_hold_up_another_on_the_same_channel(running, story, receiver):
    await running.subscribe(f"unit:{JIANSHE}", "webhook", receiver.url("jianshe"))
    await running.subscribe(f"unit:{CHANGAN}", "webhook", receiver.url("changan"))
    receiver.endpoints["jianshe"].down = True

    await running.publish(
        story.registered(uuid.uuid4(), JIANSHE, at("2013-12-03")),
        story.registered(uuid.uuid4(), CHANGAN, at("2013-12-03")),
    )

    [delivered] = await running.until_deliveries("webhook", "delivered", 1)
    assert delivered["recipient"] == f"unit:{CHANGAN}" and len(receiver.endpoints["changan"].effects) == 1
    waiting = await running.until_attempted("webhook", f"unit:{JIANSHE}", 1)
    assert waiting["state"] == "pending" and waiting["next_attempt_at"] > running.clock.now()


async def test_a_recipients_notifications_arrive_in_the_order_decided_even_when_the_first_needs_retries(
    start_notifier, story, receiver
):
    running = await start_notifier(retry_base_seconds=60)
    jianshe = f"unit:{JIANSHE}"
    await running.subscribe(jianshe, "webhook", receiver.url("jianshe"))
    receiver.endpoints["jianshe"].fail_next.extend([503, 503])
    arrivals = [story.registered(uuid.uuid4(), JIANSHE, at("2013-12-03", 9, minute)) for minute in range(6)]

    await running.publish(*arrivals)
    await running.until_applied(*arrivals)
    for attempt in (1, 2):
        failing = await running.until_attempted("webhook", jianshe, attempt)
        running.clock.set(failing["next_attempt_at"])
    await running.until_deliveries("webhook", "delivered", 6)

    decided = [str(n["notification_id"]) for n in await running.notifications("inflow")]
    endpoint = receiver.endpoints["jianshe"]
    assert [r.body["notification_id"] for r in endpoint.raw] == decided  # in order, and each once
    assert endpoint.attempts == 8


async def test_sms_waits_out_the_quiet_hours_while_the_inbox_does_not(start_notifier, story, receiver, clock):
    clock.set(at("2013-12-03", 22, 30))
    running = await start_notifier()
    await running.subscribe(f"unit:{JIANSHE}", "sms", "13800000000")

    await running.publish(story.registered(uuid.uuid4(), JIANSHE, at("2013-12-03", 22, 10)))

    [in_inbox] = await running.until_inbox(f"unit:{JIANSHE}", 1)
    [sms] = await running.until_deferred("sms")
    assert sms["next_attempt_at"] == at("2013-12-04", 8) and sms["attempts"] == 0
    assert receiver.sms.raw == []

    clock.set(at("2013-12-04", 8))
    [sent] = await running.until_deliveries("sms", "delivered", 1)
    assert sent["attempts"] == 1
    [message] = receiver.sms.effects
    assert message.body == {"to": "13800000000", "text": in_inbox["text"], "client_ref": str(sent["delivery_id"])}
