"""The Prometheus configuration and alert rules, checked and unit-tested by Prometheus' own
promtool (Debian's ``prometheus`` package). Nothing is installed here: a missing promtool fails."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[2] / "deploy" / "observability"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool is missing: apt-get update && apt-get install -y prometheus (or: make observe-install)")
    return subprocess.run([tool, *args], cwd=HERE, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.compose.yml"])
def test_the_scrape_configuration_is_valid(config):
    result = promtool("check", "config", config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_are_valid():
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alerts_fire_when_their_unit_tests_say():
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_dashboard_query_parses_and_names_a_metric_the_services_export(tmp_path):
    """The dashboard's expressions, checked by promtool as recording rules (it parses PromQL),
    and each ``msp_`` name one the kit or the notifier defines."""
    import json
    import re

    dashboard = json.loads((HERE / "grafana" / "dashboards" / "pipeline.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = tmp_path / "dashboard_rules.yml"
    rules.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:panel_{i}", "expr": e} for i, e in enumerate(exprs)]}]}))
    result = promtool("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    repo = HERE.parents[1]
    sources = (repo / "shared/platform_kit/metrics.py").read_text() + (
        repo / "services/notifier/notifier/service_layer/delivering.py").read_text()
    defined = set(re.findall(r'"(msp_[a-z_]+)"', sources))
    for expr in exprs + [r["expr"] for g in _alerts()["groups"] for r in g["rules"]]:
        for name in re.findall(r"\b(msp_[a-z_]+)", expr):
            base = re.sub(r"_(total|bucket|count|sum)$", "", name)
            assert name in defined or base in defined, f"{name} in {expr!r} is exported by no service"


def _alerts() -> dict:
    import yaml

    return yaml.safe_load((HERE / "alerts.yml").read_text())
