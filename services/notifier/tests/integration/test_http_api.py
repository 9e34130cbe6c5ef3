"""Inboxes per unit and per person over HTTP, each notification traced to its cause, and the
subscriptions staff manage."""

from __future__ import annotations

import uuid

from notifier_story import CHANGAN, JIANSHE, at


async def test_a_units_inbox_lists_the_newest_first_and_counts_what_is_unread(running, story):
    her = uuid.uuid4()
    await running.publish(
        story.registered(her, JIANSHE, at("2013-12-03")), story.moved(her, JIANSHE, CHANGAN, at("2014-02-10"))
    )
    await running.until_inbox(f"unit:{JIANSHE}", 2)

    async with running.api() as api:
        inbox = (await api.get(f"/api/units/{JIANSHE}/inbox")).json()
        assert [i["title"] for i in inbox["items"]] == ["流出告知", "流入告知"] and inbox["unread"] == 2
        newest = inbox["items"][0]["notification_id"]
        assert (await api.post(f"/api/units/{JIANSHE}/inbox/{newest}/read")).status_code == 204
        unread = (await api.get(f"/api/units/{JIANSHE}/inbox", params={"unread_only": True})).json()
        assert [i["title"] for i in unread["items"]] == ["流入告知"] and unread["unread"] == 1
        page = (await api.get(f"/api/units/{JIANSHE}/inbox", params={"limit": 1})).json()
        older = (await api.get(f"/api/units/{JIANSHE}/inbox", params={"limit": 1, "before": page["next_before"]})).json()
        assert [i["title"] for i in page["items"] + older["items"]] == ["流出告知", "流入告知"]


async def test_a_resident_reads_her_own_reminders(running, story):
    her = uuid.uuid4()
    registered = story.registered(her, JIANSHE, at("2013-11-20"))
    await running.publish(registered)
    await running.until_applied(registered)
    await running.move_clock_to(at("2013-12-17", 9))
    await running.until_inbox(f"resident:{her}", 1)

    async with running.api() as api:
        [reminder] = (await api.get(f"/api/residents/{her}/inbox")).json()["items"]

    assert reminder["title"] == "季度孕检提醒" and reminder["caused_by_event_id"] == str(registered.event_id)


async def test_a_notification_is_traced_to_the_event_that_caused_it_and_to_each_delivery(running, story, receiver):
    await running.subscribe(f"unit:{JIANSHE}", "webhook", receiver.url("jianshe"))
    registered = story.registered(uuid.uuid4(), JIANSHE, at("2013-12-03"))
    await running.publish(registered)
    await running.until_deliveries("webhook", "delivered", 1)
    await running.until_deliveries("inbox", "delivered", 1)

    async with running.api() as api:
        [caused] = (await api.get(f"/api/events/{registered.event_id}/notifications")).json()
        traced = (await api.get(f"/api/notifications/{caused['notification_id']}")).json()

    assert traced["rule"] == "inflow" and traced["caused_by_event_id"] == str(registered.event_id)
    assert {d["channel"]: d["state"] for d in traced["deliveries"]} == {"inbox": "delivered", "webhook": "delivered"}
    webhook = next(d for d in traced["deliveries"] if d["channel"] == "webhook")
    assert [a["outcome"] for a in webhook["attempt_log"]] == ["delivered"]
    assert receiver.endpoints["jianshe"].effects[0].key == webhook["delivery_id"]


async def test_staff_subscribe_a_unit_to_a_channel_and_bad_requests_say_why(running, story, smtp):
    async with running.api() as api:
        subscribed = await api.put(
            f"/api/recipients/unit:{JIANSHE}/subscriptions/email", json={"address": "jianshe@shizhong.example"}
        )
        assert subscribed.status_code == 204
        assert (await api.get(f"/api/recipients/unit:{JIANSHE}/subscriptions")).json() == [
            {"channel": "email", "address": "jianshe@shizhong.example"}
        ]
        refused = await api.put(f"/api/recipients/unit:{JIANSHE}/subscriptions/sms", json={"address": "not a phone"})
        assert refused.status_code == 422 and refused.json()["detail"] == "address: not a valid sms address"
        unknown = await api.get("/api/units/370402999999/inbox")
        assert unknown.status_code == 404 and unknown.json()["detail"] == "unit_code: 370402999999 is not a unit of 市中区"

    await running.publish(story.registered(uuid.uuid4(), JIANSHE, at("2013-12-03")))
    await running.until_deliveries("email", "delivered", 1)
    assert len(smtp.mail.to("jianshe@shizhong.example")) == 1
