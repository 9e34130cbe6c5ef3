"""The services log is killed in the middle of a department's stream, at the two worst moments,
and started again: every message is recorded exactly once, nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from platform_kit.gate import fact_event_id
from services_log_facts import hr_training

PROCESSES = Path(__file__).parent / "processes"
CST = timezone(timedelta(hours=8))
UNITS = ("370402005000", "370402001000", "370402100000", "370402002000")


async def kill_when(harness, stack, moment: str, count: int) -> None:
    """Run the services log in a process of its own and SIGKILL it at ``moment`` of its
    ``count``-th department message."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROCESSES / "ingest_killed_mid_stream.py"),
        moment,
        stack.bootstrap_servers,
        stack.database_url,
        harness.schema,
        harness.namespace,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    async with asyncio.timeout(90):
        while (await process.stdout.readline()).strip() != f"{moment} {count}".encode():
            pass
    process.send_signal(signal.SIGKILL)
    assert await process.wait() == -signal.SIGKILL


async def test_a_restart_in_the_middle_of_an_ingest_stream_loses_and_doubles_nothing(harness, stack):
    trainings = [
        hr_training(
            UNITS[i % len(UNITS)], datetime(2013, 1 + i % 12, 1 + i % 28, 9, tzinfo=CST), person_times=10 + i % 30
        )
        for i in range(120)
    ]
    resent = trainings[::7]  # a department that sends some of its facts twice
    await harness.publish(harness.topics.ingest("hr"), trainings + resent)

    await kill_when(harness, stack, "after-commit", 30)  # recorded, offset not yet committed
    await kill_when(harness, stack, "inside-append", 30)  # appended, transaction not yet committed
    harness.replica = "replica-0"
    await harness.start()
    half_done = len(await harness.stored_events())
    assert 30 <= half_done < len(trainings)
    await harness.ingest_caught_up("hr", timeout=90)

    stored = await harness.stored_events("TrainingHeld")
    assert len(stored) == len(trainings)  # nothing doubled
    assert {e.event_id for e in stored} == {fact_event_id("hr", t.event_id, 0) for t in trainings}
    assert await harness.rejections() == []
