"""Readiness that tells the truth: the outbox's oldest unpublished event and each
projection's lag, as numbers, against the real database and broker."""

from __future__ import annotations

import asyncio

from test_health import client_for
from test_projection import caught_up, history, publish, running
from test_projection_faults import TestNewerSchemaVersion, runner_for  # noqa: F401 (a fixture)

from platform_kit.event_store import EventStore
from platform_kit.health import HealthChecks, outbox_age_check, projection_lag_check
from platform_kit.testing import service_delivered, wait_until


async def test_unready_when_the_oldest_unpublished_event_is_too_old(pool, schema):
    store = EventStore(pool, schema)
    await store.setup()
    checks = HealthChecks()
    checks.add("outbox", outbox_age_check(pool, schema, max_age_seconds=60))
    async with client_for(checks) as client:
        empty = (await client.get("/health/ready")).json()["checks"]["outbox"]
        await store.append([service_delivered("resident-a", 1), service_delivered("resident-b", 1)])
        # No relay runs: the rows wait. Make them old rather than waiting a minute.
        await pool.execute(f"UPDATE {schema}.outbox SET created_at = now() - interval '5 minutes'")
        stale = await client.get("/health/ready")
    assert empty["ok"] is True and empty["outbox_pending"] == 0
    assert stale.status_code == 503
    report = stale.json()["checks"]["outbox"]
    assert report["ok"] is False and report["outbox_pending"] == 2 and report["outbox_oldest_seconds"] >= 300
    assert "oldest unpublished event is 300s old (limit 60s), 2 pending" in report["error"]


async def test_a_projections_lag_is_a_number_and_a_paused_partition_makes_it_unready(
    stack, pool, schema, topic, producer, runner_for
):
    await publish(producer, topic, history(streams=6, versions=2))
    runner = await runner_for(schema, topic, catalogue=TestNewerSchemaVersion.catalogue(1))
    checks = HealthChecks(timeout_seconds=10)
    checks.add("projection:services_per_unit", projection_lag_check(runner))
    async with running(runner), client_for(checks) as client:
        await caught_up(runner, stack, topic)
        ready = (await client.get("/health/ready")).json()["checks"]["projection:services_per_unit"]
        assert ready["ok"] is True and ready["total_lag"] == 0 and len(ready["lag"]) == 3

        await publish(producer, topic, [service_delivered("resident-x", 1).model_copy(update={"schema_version": 2})])
        await wait_until(lambda: asyncio.sleep(0, bool(runner.paused)), timeout=60, what="partition paused")
        paused = await client.get("/health/ready")
    report = paused.json()["checks"]["projection:services_per_unit"]
    assert paused.status_code == 503 and report["ok"] is False
    assert report["total_lag"] == 1 and "newer than this reader knows" in report["error"]
