"""/metrics of a running service moves as events flow: append -> relay -> projection."""

from __future__ import annotations


import httpx
from counting_projection import ServicesPerUnit
from prometheus_client.parser import text_string_to_metric_families

from platform_kit.runtime import ServiceRuntime
from platform_kit.settings import KitSettings
from platform_kit.testing import service_delivered, wait_until


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(figures: dict, name: str, **labels: str) -> float | None:
    return figures.get((name, tuple(sorted(labels.items()))))


async def test_the_figures_follow_an_event_from_append_to_projection(stack, pool, schema, namespace):
    settings = KitSettings(
        service_name="services-log", kafka_bootstrap_servers=stack.bootstrap_servers,
        database_url=stack.database_url, topic_namespace=namespace, relay_idle_poll_seconds=0.05,
    )
    topic = f"{namespace}services.events"
    runtime = ServiceRuntime(settings, schema=schema, publishes_to=topic,
                             projections=[ServicesPerUnit("services_per_unit", [topic], schema)])
    app = runtime.http_app(title="t", version="0", description="")
    await runtime.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:

            async def scrape() -> dict:
                response = await client.get("/metrics")
                assert response.status_code == 200, response.text
                return samples(response.text)

            before = await scrape()
            assert value(before, "msp_events_appended_total") == 0
            assert value(before, "msp_outbox_depth") == 0
            assert value(before, "msp_ready") == 1

            assert runtime.store is not None
            await runtime.store.append([service_delivered("resident-1", 1), service_delivered("resident-1", 2, index=1)])
            after_append = await scrape()
            assert value(after_append, "msp_events_appended_total") == 2

            async def caught_up() -> bool:
                figures = await scrape()
                return (
                    value(figures, "msp_projection_applied_total", projection="services_per_unit") == 2
                    and value(figures, "msp_outbox_depth") == 0
                )

            await wait_until(caught_up, timeout=60, what="the projection applied both events and the outbox emptied")
            figures = await scrape()
            assert value(figures, "msp_relay_published_total") == 2
            assert value(figures, "msp_outbox_oldest_age_seconds") == 0
            assert value(figures, "msp_projection_dead_letters_total", projection="services_per_unit") == 0
            assert value(figures, "msp_projection_event_age_seconds_count", projection="services_per_unit") == 2
            lags = [v for (name, labels), v in figures.items() if name == "msp_projection_lag_records"]
            assert lags and all(lag == 0 for lag in lags), lags
            # Requests are counted under the route template, not the raw path.
            await client.get("/health/live")
            await client.get("/no/such/place")
            figures = await scrape()
            assert value(figures, "msp_http_requests_total", method="GET", route="/health/live", status="200") == 1
            assert value(figures, "msp_http_requests_total", method="GET", route="unmatched", status="404") == 1
            assert value(figures, "msp_http_requests_total", method="GET", route="/metrics", status="200") >= 4  # the scrapes above, each counted once answered
    finally:
        await runtime.stop()


async def test_an_outbox_row_left_unpublished_shows_its_depth_and_age(stack, pool, schema, namespace):
    """No relay runs (the store alone is started): the row stays, and its age is reported."""
    settings = KitSettings(
        service_name="services-log", kafka_bootstrap_servers=stack.bootstrap_servers,
        database_url=stack.database_url, topic_namespace=namespace,
    )
    runtime = ServiceRuntime(settings, schema=schema, publishes_to=f"{namespace}services.events")
    await runtime.start()
    try:
        assert runtime.relay is not None and runtime.store is not None
        relay_task = next(t for t in runtime._tasks if t.get_name() == "relay")
        relay_task.cancel()  # the relay stops publishing: what an operator would see
        await runtime.store.append([service_delivered("resident-2", 1)])
        await pool.execute(f"UPDATE {schema}.events SET recorded_at = now() - interval '90 seconds'")
        await runtime.metrics.refresh()
        figures = samples(runtime.metrics.expose().decode())
        assert value(figures, "msp_outbox_depth") == 1
        assert value(figures, "msp_outbox_oldest_age_seconds") >= 90
    finally:
        await runtime.stop()
