"""Every service, run as production runs it, answers /metrics with the kit's figures."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service_processes import SERVICES, running_district  # noqa: E402


def test_the_four_services_expose_their_pipeline_figures(stack, tmp_path):
    with contextmanager(running_district)(stack.bootstrap_servers, stack.database_url, tmp_path) as d:
        for name, _, _ in SERVICES:
            response = httpx.get(f"{d.url(name)}/metrics", timeout=30)
            assert response.status_code == 200, (name, response.text[:500])
            families = {f.name: f for f in text_string_to_metric_families(response.text)}
            ready = families["msp_ready"].samples[0].value
            assert ready == 1, (name, families["msp_health_check_ok"].samples)
            # Each service keeps a store and relays it: depth and age are read from its outbox.
            assert "msp_outbox_depth" in families and "msp_outbox_oldest_age_seconds" in families, name
            assert "msp_relay_published" in families, name
            if name != "registry":  # the registry has no projection; the other three do
                assert families["msp_projection_applied"].samples, name
            if name == "notifier":
                assert "msp_notifier_deliveries" in families
            health = httpx.get(f"{d.url(name)}/health/live", timeout=30)
            assert health.status_code == 200
            again = {f.name: f for f in text_string_to_metric_families(httpx.get(f"{d.url(name)}/metrics", timeout=30).text)}
            routes = {s.labels.get("route") for s in again["msp_http_requests"].samples}
            assert "/health/live" in routes, (name, routes)
