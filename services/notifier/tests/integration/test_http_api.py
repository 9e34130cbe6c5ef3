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


PROBLEM = "application/problem+json"


async def _problem(response, status: int, field: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and [e["field"] for e in body["errors"]][0] == field
    return body


async def test_what_names_nothing_is_404_as_a_problem(running):
    nobody, nothing = uuid.uuid4(), uuid.uuid4()
    async with running.api() as api:
        await _problem(await api.post(f"/api/units/{JIANSHE}/inbox/{nothing}/read"), 404, "notification_id")
        await _problem(await api.post(f"/api/residents/{nobody}/inbox/{nothing}/read"), 404, "notification_id")
        await _problem(await api.post(f"/api/units/370402999999/inbox/{nothing}/read"), 404, "unit_code")
        await _problem(await api.get(f"/api/notifications/{nothing}"), 404, "notification_id")
        await _problem(await api.post(f"/api/dead-letters/{nothing}/retry"), 404, "delivery_id")
        await _problem(await api.delete(f"/api/recipients/unit:{JIANSHE}/subscriptions/sms"), 404, "channel")
        await _problem(await api.get(f"/units/{JIANSHE}/inbox"), 404, "path")  # the old path, before /api


async def test_odd_input_is_refused_as_invalid_and_never_fails_the_service(running):
    async with running.api() as api:
        inbox = f"/api/units/{JIANSHE}/inbox"
        await _problem(await api.get(inbox, params={"before": 2**63}), 422, "query.before")
        await _problem(await api.get(inbox, params={"before": 10**40}), 422, "query.before")
        await _problem(await api.get(inbox, params={"before": 0}), 422, "query.before")
        assert (await api.get(inbox, params={"before": 2**63 - 1})).json()["items"] == []
        await _problem(await api.get(inbox, params={"limit": 10**30}), 422, "query.limit")
        await _problem(await api.get("/api/units/12x/inbox"), 422, "path.unit_code")
        await _problem(await api.get("/api/residents/not-an-id/inbox"), 422, "path.resident_id")
        await _problem(await api.get("/api/places/37/inbox"), 422, "path.place_code")
        await _problem(await api.get("/api/notifications/42"), 422, "path.notification_id")
        await _problem(await api.get("/api/dead-letters", params={"channel": "pigeon"}), 422, "query.channel")
        subscriptions = f"/api/recipients/unit:{JIANSHE}/subscriptions"
        await _problem(await api.get("/api/recipients/someone/subscriptions"), 422, "path.recipient")
        for channel, address in [("webhook", "https://hooks.example/\x00"), ("email", "a\x00b@shizhong.example"),
                                 ("webhook", "https://hooks.example/a\nb"), ("sms", "１３８００１３８０００")]:
            await _problem(await api.put(f"{subscriptions}/{channel}", json={"address": address}), 422, "address")
        await _problem(await api.put(f"{subscriptions}/email", json={"address": "x" * 501}), 422, "address")
        await _problem(await api.put(f"{subscriptions}/email", content=b"{not json"), 422, "body")
        assert (await api.get(subscriptions)).json() == []
        # Codes typed in full-width digits are read as the codes they are; other scripts' digits are not digits.
        wide = await api.get("/api/units/３７０４０２００１００１/inbox")
        assert wide.status_code == 200 and wide.json() == (await api.get("/api/units/370402001001/inbox")).json()
        wide = await api.get("/api/recipients/place:３７０４０２/subscriptions")
        assert wide.status_code == 200 and wide.json() == []
        await _problem(await api.get("/api/units/٣٧٠٤٠٢٠٠١٠٠١/inbox"), 422, "path.unit_code")
