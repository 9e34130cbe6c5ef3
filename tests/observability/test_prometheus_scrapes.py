"""Debian's Prometheus scrapes a running service's /metrics with the repository's rules loaded:
the exposition parses, the series arrive labelled, and the rules evaluate against them."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import uvicorn

from platform_kit.runtime import ServiceRuntime
from platform_kit.settings import KitSettings
from platform_kit.testing import service_delivered, wait_until

HERE = Path(__file__).resolve().parents[2] / "deploy" / "observability"
sys.path.insert(0, str(HERE.parents[1] / "shared" / "tests"))  # the kit's test read model

from counting_projection import ServicesPerUnit  # noqa: E402


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_prometheus_reads_the_pipeline_figures_of_a_running_service(stack, schema, tmp_path):
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.fail("prometheus is missing: apt-get update && apt-get install -y prometheus")
    namespace = f"t{uuid.uuid4().hex[:8]}."
    topic = f"{namespace}services.events"
    settings = KitSettings(
        service_name="services-log", kafka_bootstrap_servers=stack.bootstrap_servers,
        database_url=stack.database_url, topic_namespace=namespace, relay_idle_poll_seconds=0.05,
    )
    runtime = ServiceRuntime(settings, schema=schema, publishes_to=topic,
                             projections=[ServicesPerUnit("services_per_unit", [topic], schema)])
    app_port, prom_port = _port(), _port()
    server = uvicorn.Server(uvicorn.Config(runtime.http_app(title="t", version="0", description=""),
                                           host="127.0.0.1", port=app_port, log_config=None, access_log=False))
    serving = asyncio.create_task(server.serve())
    (tmp_path / "alerts.yml").write_text((HERE / "alerts.yml").read_text())
    (tmp_path / "prometheus.yml").write_text(
        (HERE / "prometheus.yml").read_text()
        .replace("scrape_interval: 15s", "scrape_interval: 3s")
        .replace("scrape_timeout: 5s", "scrape_timeout: 3s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 3s")
        .replace("127.0.0.1:8102", f"127.0.0.1:{app_port}")
    )
    prom = subprocess.Popen(
        [prometheus, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("wb"),
    )
    try:
        await wait_until(lambda: _started(server), timeout=60, what="the service answers HTTP")
        assert runtime.store is not None
        await runtime.store.append([service_delivered("resident-3", 1), service_delivered("resident-3", 2, index=1)])

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{prom_port}", timeout=10) as client:

            async def query(expr: str) -> list[dict]:
                try:
                    answer = (await client.get("/api/v1/query", params={"query": expr})).json()
                except httpx.HTTPError:
                    return []  # Prometheus still starting
                return answer["data"]["result"] if answer.get("status") == "success" else []

            async def applied_seen() -> bool:
                result = await query('msp_projection_applied_total{service="services-log"}')
                return bool(result) and float(result[0]["value"][1]) == 2

            try:
                await wait_until(applied_seen, timeout=90, interval=0.5, what="Prometheus saw both events applied")
            except TimeoutError:
                targets = (await client.get("/api/v1/targets")).json()["data"]["activeTargets"]
                seen = [(t["scrapeUrl"], t["health"], t["lastError"]) for t in targets]
                raise AssertionError(f"{seen}\n{(tmp_path / 'prometheus.log').read_text()[-1500:]}") from None
            depth = await query('msp_outbox_depth{service="services-log",job="migrant-services"}')
            assert depth and float(depth[0]["value"][1]) == 0, depth
            rules = (await client.get("/api/v1/rules")).json()["data"]["groups"][0]["rules"]
            assert {r["name"] for r in rules} >= {"OutboxNotDraining", "ProjectionLagGrowing", "ServiceDown"}
            assert all(r["health"] != "err" for r in rules), [(r["name"], r.get("lastError")) for r in rules]
    finally:
        prom.terminate()
        prom.wait(timeout=30)
        server.should_exit = True
        await serving


async def _started(server: uvicorn.Server) -> bool:
    return server.started
