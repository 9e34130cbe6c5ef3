"""A whole service process wired by the runtime: store, relay, projection, readiness."""

from __future__ import annotations


from counting_projection import ServicesPerUnit

from platform_kit.runtime import ServiceRuntime
from platform_kit.settings import KitSettings
from platform_kit.testing import service_delivered, wait_until


async def test_an_appended_event_reaches_the_services_own_projection(stack, pool, schema, namespace):
    settings = KitSettings(
        service_name="services-log",
        kafka_bootstrap_servers=stack.bootstrap_servers,
        database_url=stack.database_url,
        topic_namespace=namespace,
        relay_idle_poll_seconds=0.05,
    )
    topic = f"{namespace}services.events"
    projection = ServicesPerUnit("services_per_unit", [topic], schema)
    runtime = ServiceRuntime(settings, schema=schema, publishes_to=topic, projections=[projection])
    await runtime.start()
    try:
        assert runtime.store is not None
        await runtime.store.append([service_delivered("resident-1", 1), service_delivered("resident-1", 2, index=1)])

        async def applied() -> bool:
            return await pool.fetchval(f"SELECT coalesce(sum(delivered), 0) FROM {schema}.services_per_unit") == 2

        await wait_until(applied, timeout=60, what="the projection applied both events")
        report = await runtime.health.readiness()
        assert report["status"] == "ready", report
        assert set(report["checks"]) == {
            "postgres", "kafka", "relay", "outbox", "audit-chain", "projection:services_per_unit", "projection-lag:services_per_unit",
        }
    finally:
        await runtime.stop()
