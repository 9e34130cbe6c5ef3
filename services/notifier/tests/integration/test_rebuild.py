"""The decisions read model can be rebuilt from the topics: what was decided is decided again
with the same ids, so nothing is sent twice and the same reminders wait."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

from notifier_story import CHANGAN, JIANSHE, at

from platform_kit.testing import wait_until


async def test_a_rebuilt_notifier_sends_nothing_twice_and_waits_for_the_same_reminders(running, story, receiver):
    await running.subscribe(f"unit:{JIANSHE}", "webhook", receiver.url("jianshe"))
    her = uuid.uuid4()
    history = [
        story.registered(her, JIANSHE, at("2013-11-20")),
        story.service_delivered("free_contraceptives", her, JIANSHE, at("2013-11-25")),
        story.moved(her, JIANSHE, CHANGAN, at("2013-12-01")),
        story.rectification_required(JIANSHE, "2013", date(2014, 1, 15), at("2013-12-02")),
    ]
    await running.publish(*history)
    await running.until_applied(*history)
    await running.until_deliveries("webhook", "delivered", 3)
    decided = [n["notification_id"] for n in await running.notifications()]
    waiting = {t["timer_id"] for t in await running.pool.fetch(
        f"SELECT timer_id FROM {running.schema}.timers WHERE state = 'pending'")}
    runner = running.notifier.runtime.runners[0]
    applied = runner.stats.applied

    runner.request_rebuild()
    await wait_until(lambda: asyncio.sleep(0, runner.stats.applied >= 2 * applied), timeout=60, what="rebuilt")

    assert [n["notification_id"] for n in await running.notifications()] == decided
    assert {t["timer_id"] for t in await running.pool.fetch(
        f"SELECT timer_id FROM {running.schema}.timers WHERE state = 'pending'")} == waiting
    assert [e.key for e in receiver.endpoints["jianshe"].raw] == [e.key for e in receiver.endpoints["jianshe"].effects]
