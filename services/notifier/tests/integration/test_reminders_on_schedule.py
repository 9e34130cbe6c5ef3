"""Reminders and escalations fall due on business time. The clock is the test's: it is moved
past a deadline, and the scheduler's "caught up to" says when everything due has fired, so
what was *not* sent is known, not guessed."""

from __future__ import annotations

import uuid
from datetime import date

from notifier_story import CHANGAN, DISTRICT, GETABU, JIANSHE, ZHONGXIN, at


async def test_a_follow_up_reminder_is_sent_on_its_day_and_one_made_pointless_by_a_move_is_not(
    running, story, receiver
):
    await running.subscribe(f"unit:{JIANSHE}", "webhook", receiver.url("jianshe"))
    stays, leaves = uuid.uuid4(), uuid.uuid4()
    await running.publish(
        story.registered(stays, JIANSHE, at("2013-11-20")),
        story.registered(leaves, JIANSHE, at("2013-11-20")),
        story.service_delivered("free_contraceptives", stays, JIANSHE, at("2013-12-03")),
        story.service_delivered("free_contraceptives", leaves, JIANSHE, at("2013-12-03")),
    )
    moved = story.moved(leaves, JIANSHE, CHANGAN, at("2013-12-10"))
    await running.publish(moved)
    await running.until_applied(moved)

    await running.move_clock_to(at("2013-12-30", 8, 59))
    assert await running.notifications("contraceptive_follow_up") == []
    await running.move_clock_to(at("2013-12-30", 9))

    [reminder] = await running.notifications("contraceptive_follow_up")
    assert reminder["recipient"] == f"unit:{JIANSHE}" and f"居民编号 {stays}" in reminder["text"]
    cancelled = [t for t in await running.timers("contraceptive_follow_up") if t["state"] == "cancelled"]
    assert [(t["resident_id"], t["stopped_by_event_id"]) for t in cancelled] == [(leaves, moved.event_id)]
    await running.until_deliveries("webhook", "delivered", 1)
    effects = receiver.endpoints["jianshe"].effects
    reminded = [r.body["text"] for r in effects if r.body["rule"] == "contraceptive_follow_up"]
    assert len(reminded) == 1 and str(leaves) not in reminded[0]


async def test_an_unanswered_rectification_order_escalates_to_the_town_then_the_district(running, story):
    late = story.rectification_required(JIANSHE, "2013", date(2014, 1, 15), at("2013-12-20"))
    on_time = story.rectification_required(CHANGAN, "2013", date(2014, 1, 15), at("2013-12-20"))
    await running.publish(late, on_time)
    await running.until_applied(late, on_time)

    await running.move_clock_to(at("2014-01-12", 9))
    reminded = {n["recipient"] for n in await running.notifications("rectification_order") if n["step"] == "-3d"}
    assert reminded == {f"unit:{JIANSHE}", f"unit:{CHANGAN}"}
    submitted = story.rectification_plan_submitted(CHANGAN, "2013", at("2014-01-14"))
    await running.move_clock_to(at("2014-01-14", 15))
    await running.publish(submitted)
    await running.until_applied(submitted)

    await running.move_clock_to(at("2014-01-16", 8, 59))
    assert await running.inbox(f"unit:{ZHONGXIN}") == []
    await running.move_clock_to(at("2014-01-16", 9))
    [to_town] = await running.until_inbox(f"unit:{ZHONGXIN}", 1)
    assert "建设社区未在2014年1月15日前提交2013年度书面检查汇报和整改方案" in to_town["text"]
    assert await running.inbox(f"unit:{DISTRICT}") == []

    await running.move_clock_to(at("2014-01-23", 9))
    [to_district] = await running.until_inbox(f"unit:{DISTRICT}", 1)
    assert "建设社区逾期七日仍未提交" in to_district["text"]
    escalations = [(n["recipient"], n["step"]) for n in await running.notifications("rectification_order")
                   if n["step"].startswith("+")]
    assert escalations == [(f"unit:{ZHONGXIN}", "+1d"), (f"unit:{DISTRICT}", "+8d")]  # 长安社区's town never told
    assert await running.inbox(f"unit:{GETABU}") == []


async def test_a_late_reply_to_an_incoming_request_is_told_to_the_town_and_the_district(running, story):
    answered, ignored = uuid.uuid4(), uuid.uuid4()
    request, asked = story.verification_requested(answered, CHANGAN, at("2013-12-03"), direction="incoming",
                                                  due_on=date(2013, 12, 10))
    _, forgotten = story.verification_requested(ignored, CHANGAN, at("2013-12-03"), direction="incoming",
                                                due_on=date(2013, 12, 10))
    await running.publish(asked, forgotten)
    await running.until_applied(asked, forgotten)

    await running.move_clock_to(at("2013-12-07", 9))
    reminders = [n for n in await running.notifications("verification_incoming") if n["step"] == "-3d"]
    assert len(reminders) == 2 and {n["recipient"] for n in reminders} == {f"unit:{CHANGAN}"}
    reply = story.verification_replied(request, answered, CHANGAN, at("2013-12-08"))
    await running.publish(reply)
    await running.until_applied(reply)
    await running.move_clock_to(at("2013-12-11", 9))

    late = [n for n in await running.notifications("verification_incoming") if n["step"] == "+1d"]
    assert {n["recipient"] for n in late} == {f"unit:{GETABU}", f"unit:{DISTRICT}"}
    assert all(str(ignored) in n["text"] and str(answered) not in n["text"] for n in late), [n["text"] for n in late]


async def test_the_quarterly_pregnancy_check_is_reminded_to_the_unit_and_to_her(running, story):
    her = uuid.uuid4()
    registered = story.registered(her, JIANSHE, at("2013-11-20"))
    await running.publish(registered)
    await running.until_applied(registered)

    await running.move_clock_to(at("2013-12-17", 9))

    [to_her] = await running.until_inbox(f"resident:{her}", 1)
    assert "您2013年第4季度的免费孕检尚未完成" in to_her["text"]
    assert any("孕检提醒" in n["text"] for n in await running.inbox(f"unit:{JIANSHE}"))
    await running.move_clock_to(at("2014-01-01", 0))  # the quarter turns: the next one is watched
    watched = {t["subject"] for t in await running.timers("pregnancy_check") if t["state"] == "pending"}
    assert watched == {f"{her}@2014-Q1"}


async def test_what_happened_decides_not_what_arrived_first(running, story):
    """A check recorded before her registration reached the notifier, and contraceptives
    learnt of only after her later move: neither leaves a reminder behind."""
    checked_woman, moved_woman = uuid.uuid4(), uuid.uuid4()
    checked = story.service_delivered("pregnancy_check", checked_woman, JIANSHE, at("2013-12-02"))
    contraceptives = story.service_delivered("free_contraceptives", moved_woman, JIANSHE, at("2013-12-03"))
    registered = story.registered(moved_woman, JIANSHE, at("2013-11-20"))  # her stream's first event...
    moved = story.moved(moved_woman, JIANSHE, CHANGAN, at("2013-12-10"))  # ...and its second
    await running.publish(checked, registered, moved)
    await running.until_applied(checked, moved)
    late = [story.registered(checked_woman, JIANSHE, at("2013-11-20")), contraceptives]
    await running.publish(*late)
    await running.until_applied(*late)

    await running.move_clock_to(at("2013-12-17", 9))
    reminded = {n["recipient"] for n in await running.notifications("pregnancy_check")}
    assert f"resident:{checked_woman}" not in reminded and f"resident:{moved_woman}" in reminded

    await running.move_clock_to(at("2013-12-31", 9))
    assert await running.notifications("contraceptive_follow_up") == []
    [stopped] = [t for t in await running.timers("contraceptive_follow_up")]
    assert (stopped["state"], stopped["stopped_by_event_id"]) == ("cancelled", moved.event_id)
