"""A relay that dies (SIGKILL) right after Kafka acknowledged its first batch, before it
marks the batch as published: the worst moment for the outbox."""

import asyncio
import os
import signal
import sys

from platform_kit.kafka import idempotent_producer
from platform_kit.outbox_relay import OutboxRelay


async def main(database_url: str, schema: str, topic: str, bootstrap: str, batch_size: str) -> None:
    async def die(_positions):
        os.kill(os.getpid(), signal.SIGKILL)

    producer = idempotent_producer(bootstrap)
    await producer.start()
    relay = OutboxRelay(
        database_url=database_url, schema=schema, topic=topic, producer=producer,
        batch_size=int(batch_size), after_publish=die,
    )
    await relay.run(asyncio.Event())


asyncio.run(main(*sys.argv[1:]))
