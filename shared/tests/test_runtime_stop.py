"""A stop always lets go of the pool and the producer, even when a loop will not finish."""

from __future__ import annotations

import asyncio

from platform_kit.runtime import ServiceDeclaration, ServiceRuntime
from platform_kit.settings import KitSettings


async def test_a_loop_that_ignores_the_stop_is_cancelled_and_nothing_leaks(stack, schema, namespace):
    begun, finished = asyncio.Event(), asyncio.Event()
    torn_down = []

    async def stubborn(stop: asyncio.Event) -> None:
        begun.set()
        try:
            await asyncio.sleep(3600)  # like a relay waiting for acknowledgements while Kafka is down
        finally:
            finished.set()

    async def teardown(runtime: ServiceRuntime) -> None:
        torn_down.append(True)

    settings = KitSettings(
        service_name="services-log", kafka_bootstrap_servers=stack.bootstrap_servers, database_url=stack.database_url,
        database_schema=schema, topic_namespace=namespace, shutdown_timeout_seconds=0.5,
    )
    declaration = ServiceDeclaration(
        name="stubborn", title="stubborn", description="", package="platform-kit",
        loops=lambda runtime: {"stubborn": stubborn}, teardown=teardown,
    )
    runtime = ServiceRuntime(settings, declaration)
    await runtime.start()
    pool, producer = runtime.pool, runtime.producer
    await asyncio.wait_for(begun.wait(), timeout=30)
    await runtime.stop()  # must not raise TimeoutError
    assert finished.is_set(), "the loop was cancelled"
    assert torn_down == [True]
    assert pool is not None and pool.is_closing()
    assert producer is not None and producer._closed
