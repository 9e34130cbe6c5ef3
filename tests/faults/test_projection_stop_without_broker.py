"""A projection runner told to stop while Kafka is down stops cleanly: its run returns, nothing
escapes (aiokafka's consumer.stop() cancels requests still waiting for the dead broker, and the
CancelledError it then meets used to come out of the runner as if the service were cancelled).

On a private stack: the test kills its Kafka."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import asyncpg
import pytest

from platform_kit.database import create_pool
from platform_kit.envelope import Envelope
from platform_kit.kafka import ensure_topics, idempotent_producer
from platform_kit.projection import Projection, ProjectionRunner
from platform_kit.testing import service_delivered, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parent))
from private_stack import PrivateStack  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

TOPIC = "services.events"
EVENTS = 30


class Counted(Projection):
    name, topics = "counted", (TOPIC,)
    ddl = "CREATE TABLE IF NOT EXISTS {schema}.counted (n integer NOT NULL)"

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def apply(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
        await conn.execute(f"INSERT INTO {self.schema}.counted VALUES ($1)", len(events))

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute(f"TRUNCATE {self.schema}.counted")


@pytest.fixture(scope="module")
def private() -> Iterator[PrivateStack]:
    stack = PrivateStack()
    try:
        stack.up()
        yield stack
    finally:
        stack.purge()


async def test_a_runner_stopped_once_it_has_lost_the_broker_stops_cleanly(private: PrivateStack):
    schema = f"stop_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(private.database_url, max_size=4)
    producer = idempotent_producer(private.bootstrap_servers)
    try:
        await ensure_topics(private.bootstrap_servers, [TOPIC])
        await producer.start()
        for version in range(1, EVENTS + 1):
            event = service_delivered(f"resident-{schema[5:]}", version)
            await producer.send_and_wait(TOPIC, event.to_bytes(), key=event.key)
        runner = ProjectionRunner(
            Counted(schema), pool=pool, schema=schema, bootstrap_servers=private.bootstrap_servers, producer=producer
        )
        await runner.setup()
        stop = asyncio.Event()
        running = asyncio.create_task(runner.run(stop))

        async def caught_up() -> bool:
            return await pool.fetchval(f"SELECT coalesce(sum(n), 0) FROM {schema}.counted") >= EVENTS

        await wait_until(caught_up, timeout=120, what="the runner applied every event")

        await asyncio.to_thread(private.run, "kill-kafka")
        # Once the group member knows its coordinator is gone (stopped at once, before it noticed,
        # the old runner stopped cleanly too: that moment never failed, so it is not a case here).
        coordinator = runner.consumer._coordinator

        async def lost() -> bool:
            return coordinator.coordinator_id is None or running.done()

        await wait_until(lost, timeout=120, what="the consumer noticed its coordinator is gone")
        stop.set()
        done, _ = await asyncio.wait([running], timeout=120)
        assert done, "the runner did not stop within two minutes of being told to"
        assert not running.cancelled() and running.exception() is None, repr(
            running.exception() if not running.cancelled() else "cancelled"
        )
        assert runner.consumer is None
    finally:
        await producer.stop()
        await pool.close()
