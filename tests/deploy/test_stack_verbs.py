"""deploy/local/stack.sh's fault-injection verbs, on a private stack of this test's own.

Starts a second Kafka and PostgreSQL beside whatever else runs (the shared stack included),
under a temporary STACK_DIR and on free ports of its own (the KRaft controller port follows
KAFKA_PORT), exercises every verb, and purges it. Kafka's jars are reused read-only
(KAFKA_LIBS) from an existing stack when they match the pom, else stack.sh fetches them.
Slow (two broker starts): an integration test.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "deploy" / "local" / "stack.sh"

sys.path.insert(0, str(REPO / "tests" / "faults"))
from private_stack import free_ports, port_open, shared_libs  # noqa: E402  the fault suite's, one copy


class Private:
    def __init__(self, stack_dir: str) -> None:
        kafka_port, pg_port = free_ports(2), free_ports()
        assert {kafka_port, kafka_port + 1, pg_port} & {19092, 19093, 55432} == set()
        self.kafka_port, self.controller_port, self.pg_port = kafka_port, kafka_port + 1, pg_port
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_LIBS",
                                                                "KAFKA_CONTROLLER_PORT")}
        env.update(STACK_DIR=stack_dir, KAFKA_PORT=str(kafka_port), PG_PORT=str(pg_port),
                   KAFKA_HEAP_OPTS="-Xms128m -Xmx384m")
        if libs := shared_libs():
            env["KAFKA_LIBS"] = libs
        self.env, self.stack_dir = env, Path(stack_dir)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(STACK), *args], env=self.env, capture_output=True, text=True, timeout=300)
        if check:
            assert result.returncode == 0, f"stack.sh {' '.join(args)}: {result.stderr[-3000:]}"
        return result

    def status(self) -> dict[str, str]:
        out = self.run("status", check=False)
        lines = out.stdout.splitlines()
        assert all(re.fullmatch(r"[A-Z_]+=.*", line) for line in lines), out.stdout
        return dict(line.split("=", 1) for line in lines)

    def kafka_pid(self) -> int:
        return int((self.stack_dir / "run/kafka.pid").read_text())

    def postmaster_pid(self) -> int:
        return int((self.stack_dir / "postgres/data/postmaster.pid").read_text().splitlines()[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def private() -> Iterator[Private]:
    stack_dir = tempfile.mkdtemp(prefix="stack-verbs-", dir="/tmp")
    stack = Private(stack_dir)
    try:
        up = stack.run("up")
        assert f"KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{stack.kafka_port}" in up.stdout
        yield stack
    finally:
        stack.run("down", "--purge", check=False)
        shutil.rmtree(stack_dir, ignore_errors=True)


def test_a_private_stack_runs_beside_on_its_own_ports(private: Private) -> None:
    s = private.status()
    assert s == {
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{private.kafka_port}",
        "KAFKA_STATE": "running",
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{private.pg_port}/migrant_services",
        "POSTGRES_STATE": "running",
    }
    config = (private.stack_dir / "kafka/config/server.properties").read_text()
    assert f"CONTROLLER://127.0.0.1:{private.controller_port}" in config
    assert port_open(private.controller_port)
    assert str(private.stack_dir) in (private.stack_dir / "kafka/config/server.properties").read_text()


def test_kafka_verbs(private: Private) -> None:
    pid = private.kafka_pid()
    private.run("stop-kafka")
    assert not _alive(pid) and not port_open(private.kafka_port)
    assert private.status()["KAFKA_STATE"] == "stopped"
    private.run("stop-kafka")  # idempotent
    assert private.run("status", check=False).returncode == 3

    private.run("start-kafka")
    assert port_open(private.kafka_port) and private.status()["KAFKA_STATE"] == "running"
    private.run("start-kafka")  # idempotent

    pid = private.kafka_pid()
    private.run("kill-kafka")
    assert not _alive(pid) and not port_open(private.kafka_port)
    assert private.status()["KAFKA_STATE"] == "stopped"
    private.run("kill-kafka")  # idempotent
    private.run("start-kafka")  # recovers after an unclean stop
    assert private.status()["KAFKA_STATE"] == "running"


def test_a_broker_killed_while_it_starts_is_reported_as_killed(private: Private) -> None:
    """A JVM killed by a signal writes nothing to its own log; the operator (and CI) must still
    learn how it ended, not only that it is gone."""
    private.run("stop-kafka")
    pidfile = private.stack_dir / "run/kafka.pid"
    starting = subprocess.Popen([str(STACK), "start-kafka"], env=private.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (pidfile.is_file() and pidfile.read_text().strip()):
            assert time.monotonic() < deadline and starting.poll() is None, "start-kafka wrote no pid file"
            time.sleep(0.05)
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
        _, err = starting.communicate(timeout=120)
    finally:
        if starting.poll() is None:
            starting.kill()
    assert starting.returncode != 0, err[-2000:]
    assert "exited during startup" in err and "killed by signal 9 (SIGKILL)" in err, err[-2000:]
    private.run("start-kafka")  # and it starts again
    assert private.status()["KAFKA_STATE"] == "running"


def test_postgres_verbs(private: Private) -> None:
    private.run("stop-postgres")
    assert not port_open(private.pg_port) and private.status()["POSTGRES_STATE"] == "stopped"
    private.run("stop-postgres")  # idempotent

    private.run("start-postgres")
    assert port_open(private.pg_port) and private.status()["POSTGRES_STATE"] == "running"
    private.run("start-postgres")  # idempotent

    pid = private.postmaster_pid()
    private.run("kill-postgres")
    assert not _alive(pid) and not port_open(private.pg_port)
    assert private.status()["POSTGRES_STATE"] == "stopped"
    private.run("kill-postgres")  # idempotent
    private.run("start-postgres")  # recovers after a crash (stale postmaster.pid, crash recovery)
    assert private.status()["POSTGRES_STATE"] == "running"
    assert private.run("status", check=False).returncode == 0


def test_down_purge_removes_the_private_stack(private: Private) -> None:
    private.run("down", "--purge")
    assert not port_open(private.kafka_port) and not port_open(private.pg_port)
    for gone in ("kafka/data", "postgres", "logs", "run"):
        assert not (private.stack_dir / gone).exists(), gone
    assert private.run("status", check=False).returncode == 3


def test_up_checks_every_port_before_it_starts_anything() -> None:
    """A PostgreSQL port taken by another process was found only after Kafka had started, and
    that Kafka was left running with nobody to stop it (a second suite started too soon after
    the first met it)."""
    import socket

    stack_dir = tempfile.mkdtemp(prefix="stack-taken-", dir="/tmp")
    stack = Private(stack_dir)
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", stack.pg_port))
    squatter.listen()
    try:
        up = stack.run("up", check=False)
        assert up.returncode != 0 and f"port 127.0.0.1:{stack.pg_port} is taken" in up.stderr, up.stderr[-2000:]
        assert not port_open(stack.kafka_port), "Kafka was started and left behind"
        assert not (stack.stack_dir / "run/kafka.pid").exists()
    finally:
        squatter.close()
        stack.run("down", "--purge", check=False)
        shutil.rmtree(stack_dir, ignore_errors=True)
