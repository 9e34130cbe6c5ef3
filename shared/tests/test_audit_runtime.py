"""The runtime seals every service's store as events arrive, beside the append."""

from __future__ import annotations


from platform_kit.audit.verify import verify
from platform_kit.runtime import ServiceRuntime
from platform_kit.settings import KitSettings
from platform_kit.testing import service_delivered, wait_until


async def test_a_running_service_seals_what_it_appends_and_anchors_on_stop_or_demand(stack, pool, schema, namespace):
    settings = KitSettings(
        service_name="services-log", kafka_bootstrap_servers=stack.bootstrap_servers,
        database_url=stack.database_url, topic_namespace=namespace,
    )
    runtime = ServiceRuntime(settings, schema=schema, publishes_to=f"{namespace}services.events")
    await runtime.start()
    try:
        assert runtime.store is not None and runtime.sealer is not None
        await runtime.store.append([service_delivered("resident-1", v, index=v) for v in (1, 2, 3)])

        async def sealed() -> bool:
            return (await runtime.sealer.head()).position == 3

        await wait_until(sealed, timeout=60, what="the sealing loop reached position 3")
        head = await runtime.sealer.anchor("test")
        assert await pool.fetchval(f"SELECT count(*) FROM {schema}.audit_anchor WHERE position = 3") == 1
        report = await verify(pool, schema)
        assert report.clean and report.sealed_head == 3 and report.anchors_checked == 1
        assert (await runtime.health.readiness())["checks"]["audit-chain"]["ok"] is True
        assert head.position == 3
    finally:
        await runtime.stop()
