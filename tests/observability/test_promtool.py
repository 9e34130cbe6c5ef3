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
