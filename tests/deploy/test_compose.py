"""deploy/docker-compose.yml: the services are reachable from outside their containers, and
every secret comes from the environment, with no default.

The structural checks always run (they only need PyYAML). When a Compose validator is on the
machine, it checks the file too: ``docker compose`` (v2) if present, else Debian's
``docker-compose`` 1.29 (``apt-get install docker-compose``), which can run ``config``
without a Docker engine. 1.29 predates the Compose spec's top-level ``name:``, so it gets
the file without that one line (through stdin, from deploy/ so relative paths resolve the
same). Without either tool, the validator tests run the structural checks instead of
skipping, and say so in a warning.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "deploy" / "docker-compose.yml"
APP_PORTS = {"registry": 8101, "services-log": 8102, "assessment": 8103, "notifier": 8104}
SECRETS = {"POSTGRES_PASSWORD": "pg-test-pw", "IDENTITY_SECRET": "id-test-secret", "WEBHOOK_SECRET": "wh-test-secret"}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|(^|_)KEY($|_)")
REQUIRED = re.compile(r"^\$\{(?P<var>[A-Z_][A-Z0-9_]*):\?[^}]+\}$")


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _validator() -> list[str] | None:
    """The command that prints the resolved file, or None when no validator is installed."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose", "-f", str(COMPOSE), "config"]
    v1 = shutil.which("docker-compose")
    if v1:
        return [v1, "-f", "-", "config"]
    return None


def _run_validator(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    text = COMPOSE.read_text()
    stdin = None
    if cmd[1:3] == ["-f", "-"]:  # docker-compose 1.x: no top-level `name:`
        stdin = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("name:"))
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS and k not in ("PUBLISH_HOST",)}
    return subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, cwd=COMPOSE.parent, env={**clean, **env}, timeout=120
    )


# ------------------------------------------------------------------ structure (always) ---


def check_structure(doc: dict) -> None:
    services = doc["services"]
    assert set(APP_PORTS) <= set(services), f"missing services: {set(APP_PORTS) - set(services)}"
    for name, port in APP_PORTS.items():
        svc = services[name]
        env = svc.get("environment") or {}
        assert isinstance(env, dict), f"{name}: environment must be a mapping"
        assert env.get("HTTP_HOST") == "0.0.0.0", f"{name}: HTTP_HOST must be 0.0.0.0, is {env.get('HTTP_HOST')!r}"
        assert str(env.get("HTTP_PORT")) == str(port), f"{name}: HTTP_PORT must be {port}"
        published = [str(p) for p in svc.get("ports") or []]
        assert any(re.fullmatch(rf"(\$\{{[^}}]+\}}:|[0-9.]+:)?{port}:{port}(/tcp)?", p) for p in published), (
            f"{name}: port {port} is not published ({published})"
        )
    for name, svc in services.items():
        env = svc.get("environment") or {}
        for key, value in env.items():
            value = str(value)
            if SECRET_NAME.search(key):
                m = REQUIRED.match(value)
                assert m and m.group("var") == key, f"{name}: {key} must be ${{{key}:?...}}, not {value!r}"
            if "://" in value:  # a URL's password, if any, is a required variable too
                userinfo = value.split("://", 1)[1].split("@", 1)
                if len(userinfo) == 2 and ":" in userinfo[0]:
                    password = userinfo[0].split(":", 1)[1]
                    assert REQUIRED.match(password), f"{name}: {key} carries a literal password"
        assert env.get("POSTGRES_HOST_AUTH_METHOD") != "trust", f"{name}: password-less PostgreSQL"
    assert "IDENTITY_SECRET" in services["registry"]["environment"]
    assert "WEBHOOK_SECRET" in services["notifier"]["environment"]
    # Each secret only where it is used.
    for name in ("services-log", "assessment"):
        env = services[name]["environment"]
        assert not {"IDENTITY_SECRET", "WEBHOOK_SECRET"} & set(env), f"{name} gets a secret it does not use"


def test_structure() -> None:
    check_structure(_compose())


def test_structure_catches_a_literal_secret() -> None:
    doc = _compose()
    doc["services"]["registry"]["environment"]["IDENTITY_SECRET"] = "local-development-only"
    with pytest.raises(AssertionError, match="IDENTITY_SECRET"):
        check_structure(doc)
    doc = _compose()
    doc["services"]["notifier"]["environment"]["WEBHOOK_SECRET"] = "${WEBHOOK_SECRET:-change-me}"
    with pytest.raises(AssertionError, match="WEBHOOK_SECRET"):
        check_structure(doc)


def test_structure_catches_a_loopback_service() -> None:
    doc = _compose()
    doc["services"]["assessment"]["environment"]["HTTP_HOST"] = "127.0.0.1"
    with pytest.raises(AssertionError, match="HTTP_HOST"):
        check_structure(doc)


# ------------------------------------------------------------------- validator (if any) ---


def test_validator_accepts_the_file_with_its_secrets() -> None:
    cmd = _validator()
    if cmd is None:
        warnings.warn("no docker compose / docker-compose here: structural checks only", stacklevel=1)
        check_structure(_compose())
        return
    result = _run_validator(cmd, SECRETS)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    check_structure_resolved(resolved)


def check_structure_resolved(doc: dict) -> None:
    """What the validator resolved: secrets as given, services on 0.0.0.0, ports published."""
    services = doc["services"]
    assert services["registry"]["environment"]["IDENTITY_SECRET"] == SECRETS["IDENTITY_SECRET"]
    assert services["notifier"]["environment"]["WEBHOOK_SECRET"] == SECRETS["WEBHOOK_SECRET"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == SECRETS["POSTGRES_PASSWORD"]
    for name, port in APP_PORTS.items():
        env = services[name]["environment"]
        assert env["HTTP_HOST"] == "0.0.0.0"
        assert f":{SECRETS['POSTGRES_PASSWORD']}@postgres:5432/" in env["DATABASE_URL"]
        ports = services[name]["ports"]
        targets = {int(p["target"]) if isinstance(p, dict) else int(str(p).split(":")[-1].split("/")[0]) for p in ports}
        assert port in targets, f"{name}: {ports}"


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_validator_refuses_a_missing_secret(missing: str) -> None:
    cmd = _validator()
    if cmd is None:
        warnings.warn("no docker compose / docker-compose here: structural checks only", stacklevel=1)
        check_structure(_compose())
        return
    result = _run_validator(cmd, {k: v for k, v in SECRETS.items() if k != missing})
    assert result.returncode != 0, f"compose accepted the file without {missing}"
    assert f"set {missing}" in result.stderr + result.stdout
