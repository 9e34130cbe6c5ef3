"""A Kafka and a PostgreSQL of the fault suite's own, started with deploy/local/stack.sh under a
temporary STACK_DIR on free ports: the suite kills them, which it must never do to the stack
other engineers share. Kafka's jars are reused read-only (KAFKA_LIBS) when they match the pom."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "deploy" / "local" / "stack.sh"
POM = REPO / "deploy" / "local" / "kafka" / "pom.xml"
SHARED_PORTS = {19092, 19093, 55432}


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_ports(consecutive: int = 1) -> int:
    """A port p with p .. p+consecutive-1 free on 127.0.0.1 and none of them the shared stack's."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        ports = set(range(base, base + consecutive))
        if base + consecutive <= 65535 and not ports & SHARED_PORTS and not any(port_open(p) for p in ports):
            return base
    raise RuntimeError("no free ports")


def shared_libs() -> str | None:
    """An existing stack's Kafka jars for this very pom, if there are any (else stack.sh fetches them)."""
    version = re.search(r"<kafka.version>(.*)</kafka.version>", POM.read_text()).group(1)
    want = f"{version} {hashlib.sha256(POM.read_bytes()).hexdigest()}"
    candidates = [os.environ.get("KAFKA_LIBS"), os.environ.get("STACK_DIR") and f"{os.environ['STACK_DIR']}/kafka/libs",
                  str(REPO / ".stack/kafka/libs")]
    for libs in filter(None, candidates):
        marker = Path(libs) / ".stack-complete"
        if marker.is_file() and marker.read_text().strip() == want:
            return libs
    return None


class PrivateStack:
    def __init__(self) -> None:
        self.stack_dir = Path(tempfile.mkdtemp(prefix="faults-stack-", dir="/tmp"))
        self.kafka_port, self.pg_port = free_ports(2), free_ports()
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_LIBS", "KAFKA_CONTROLLER_PORT")}
        env.update(STACK_DIR=str(self.stack_dir), KAFKA_PORT=str(self.kafka_port), PG_PORT=str(self.pg_port),
                   KAFKA_HEAP_OPTS="-Xms128m -Xmx512m")
        if libs := shared_libs():
            env["KAFKA_LIBS"] = libs
        self.env = env
        self.bootstrap_servers = f"127.0.0.1:{self.kafka_port}"
        self.database_url = f"postgresql://postgres@127.0.0.1:{self.pg_port}/migrant_services"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(STACK), *args], env=self.env, capture_output=True, text=True, timeout=600)
        if check and result.returncode != 0:
            raise RuntimeError(f"stack.sh {' '.join(args)} failed ({result.returncode}): {result.stderr[-3000:]}")
        return result

    def up(self) -> None:
        self.run("up")

    def purge(self) -> None:
        self.run("down", "--purge", check=False)
        shutil.rmtree(self.stack_dir, ignore_errors=True)
