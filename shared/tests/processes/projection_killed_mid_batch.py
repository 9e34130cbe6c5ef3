"""A projection that announces each batch halfway through its transaction and lingers there,
so the test can SIGKILL it mid-batch."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from counting_projection import ServicesPerUnit  # noqa: E402

from platform_kit.database import create_pool  # noqa: E402
from platform_kit.kafka import idempotent_producer  # noqa: E402
from platform_kit.projection import ProjectionRunner  # noqa: E402


class Lingering(ServicesPerUnit):
    batches = 0

    async def apply(self, conn, events):
        await super().apply(conn, events)
        Lingering.batches += 1
        print(f"mid-batch {Lingering.batches}", flush=True)
        await asyncio.sleep(0.5)


async def main(database_url: str, schema: str, topic: str, bootstrap: str) -> None:
    pool = await create_pool(database_url)
    producer = idempotent_producer(bootstrap)
    await producer.start()
    runner = ProjectionRunner(
        Lingering("services_per_unit", [topic], schema), pool=pool, schema=schema,
        bootstrap_servers=bootstrap, producer=producer, batch_size=150,
    )
    await runner.setup()
    await runner.run(asyncio.Event())


asyncio.run(main(*sys.argv[1:]))
