"""Killed between sending and recording, the notifier loses nothing and duplicates nothing:
the delivery is still pending, so it is sent again after the restart with the same
idempotency key, and every receiver sees each key's effect once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from notifier_story import CHANGAN, CST, JIANSHE, XINHUA

from platform_kit.database import apply_ddl
from platform_kit.envelope import Envelope
from platform_kit.kafka import ensure_topics
from platform_kit.testing import read_topic_to_end, wait_until
from platform_kit.topics import Topics

from notifier.adapters import views
from notifier.adapters.tables import DDL
from notifier.adapters.channels.mail import SUBJECT_PREFIX

PROCESS = Path(__file__).parents[1] / "processes" / "notifier_killed_after_send.py"
UNITS = (JIANSHE, XINHUA, CHANGAN)
ARRIVALS = 24


async def test_a_notifier_killed_between_sending_and_recording_loses_and_duplicates_nothing(
    stack, pool, schema, namespace, receiver, smtp, producer, story, clock, start_notifier
):
    await apply_ddl(pool, schema, DDL)  # the units' subscriptions are in place before the notifier starts
    for code in UNITS:
        await views.subscribe(pool, schema, f"unit:{code}", "webhook", receiver.url(code))
        await views.subscribe(pool, schema, f"unit:{code}", "email", f"{code}@shizhong.example")
    topics = Topics(namespace)
    await ensure_topics(stack.bootstrap_servers, topics.public, partitions=3)
    now = datetime.now(CST)
    arrivals = [
        story.registered(uuid.uuid4(), UNITS[i % len(UNITS)], now, sex="male", marital_status="unmarried")
        for i in range(ARRIVALS)
    ]
    await asyncio.gather(*[await producer.send(topics.registry_events, e.to_bytes(), key=e.key) for e in arrivals])

    killed = await asyncio.create_subprocess_exec(
        sys.executable, str(PROCESS), schema, "webhook", "5",
        env=os.environ | {
            "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers, "DATABASE_URL": stack.database_url,
            "TOPIC_NAMESPACE": namespace, "SMTP_PORT": str(smtp.port), "WEBHOOK_SECRET": receiver.secret,
            "DELIVERY_POLL_SECONDS": "0.05", "RELAY_IDLE_POLL_SECONDS": "0.05", "LOG_LEVEL": "WARNING",
        },
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    async with asyncio.timeout(90):
        line = (await killed.stdout.readline()).decode().strip()
        assert await killed.wait() == -signal.SIGKILL
    sent_unrecorded = line.removeprefix("sent ")
    assert sum(e.times_sent(sent_unrecorded) for e in receiver.endpoints.values()) == 1
    assert await pool.fetchval(f"SELECT state FROM {schema}.deliveries WHERE delivery_id = $1",
                               uuid.UUID(sent_unrecorded)) == "pending"

    clock.set(datetime.now(UTC) + timedelta(minutes=1))
    restarted = await start_notifier()
    for channel in ("inbox", "webhook", "email"):
        await restarted.until_deliveries(channel, "delivered", ARRIVALS)

    webhooks = await restarted.deliveries("webhook")
    applied = Counter(r.key for e in receiver.endpoints.values() for r in e.effects)
    assert set(applied) == {str(d["delivery_id"]) for d in webhooks} and set(applied.values()) == {1}
    assert sum(e.times_sent(sent_unrecorded) for e in receiver.endpoints.values()) == 2  # sent again, applied once
    for code in UNITS:  # and each unit's notifications arrived in the order decided
        decided = [str(d["notification_id"]) for d in webhooks if d["recipient"] == f"unit:{code}"]
        assert [r.body["notification_id"] for r in receiver.endpoints[code].effects] == decided

    emails = await restarted.deliveries("email")
    assert set(smtp.mail.by_message_id) == {f"<{d['delivery_id']}@notifier.shizhong>" for d in emails}
    assert all(m["Subject"] == SUBJECT_PREFIX + "流入告知" for m in smtp.mail.by_message_id.values())
    assert len(await restarted.inbox(f"unit:{JIANSHE}")) == ARRIVALS // len(UNITS)

    async def all_published() -> list[Envelope]:
        records = await read_topic_to_end(stack.bootstrap_servers, topics.notifier_events)
        return list({e.event_id: e for e in map(Envelope.from_bytes, (r.value for r in records))}.values())

    await wait_until(lambda: _at_least(all_published, 3 * ARRIVALS), timeout=60, what="every delivery published")
    published = Counter(e.payload["delivery_id"] for e in await all_published())
    assert len(published) == 3 * ARRIVALS and set(published.values()) == {1}


async def _at_least(published, n: int) -> bool:
    return len(await published()) >= n
