"""The four services as real processes, on the real Kafka and PostgreSQL: what end-to-end and
fault tests drive through the public APIs and topics.

Each run gets its own topic namespace and its own schemas, so it shares the broker and the
database with other tests without seeing their data. A service may run as several instances
(``instances={"assessment": 3}``): they share its schema, its topic namespace and so its
consumer groups, as replicas of one deployment do, and differ only in their HTTP port and log. A service is started the way production
starts it (``python -m <package>``), with its settings in the environment.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from platform_kit.testing import free_port

REPO = Path(__file__).resolve().parents[1]
# name, package, schema suffix: the order is the order of start.
SERVICES = (
    ("registry", "registry", "registry"),
    ("services-log", "services_log", "services_log"),
    ("assessment", "assessment", "assessment"),
    ("notifier", "notifier", "notifier"),
)


@dataclass
class Process:
    name: str
    package: str
    port: int
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            return
        out = self.log.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", self.package], env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO
        )

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}); log:\n{self.tail()}")
            try:
                # A loaded machine (other suites share its two cores) can be slow to answer.
                answer = httpx.get(f"{self.url}/health/ready", timeout=5)
                if answer.status_code == 200:
                    return
                last = f"{answer.status_code} {answer.text}"
            except httpx.HTTPError as error:
                last = repr(error)
            time.sleep(0.3)
        # The last readiness answer says which check held it back; the log, what it was doing.
        raise TimeoutError(f"{self.name} not ready after {timeout} s; last answer: {last}; log:\n{self.tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(sig)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def kill(self) -> None:
        """kill -9: no goodbye, no flush, nothing left in order."""
        self.stop(signal.SIGKILL)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


@dataclass
class District:
    """The four services of one test run."""

    namespace: str
    schemas: dict[str, str]
    processes: dict[str, Process] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Process:
        return self.processes[name]

    def instances(self, name: str) -> list[Process]:
        """Every instance of one service, the first (``self[name]``) first."""
        return [self.processes[name]] + [p for key, p in self.processes.items() if key.startswith(f"{name}#")]

    def add_instance(self, name: str) -> Process:
        """One more instance of a service (not started): same schema, namespace, settings."""
        first = self.processes[name]
        key = f"{name}#{len(self.instances(name)) + 1}"
        port = free_port()
        process = Process(key, first.package, port, first.env | {"HTTP_PORT": str(port)}, first.log.with_name(f"{key}.log"))
        self.processes[key] = process
        return process

    def url(self, name: str) -> str:
        return self.processes[name].url

    def start(self, ready_timeout: float = 180) -> None:
        for process in self.processes.values():
            process.start()
        for process in self.processes.values():
            process.wait_ready(ready_timeout)

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            process.stop()


def district(
    bootstrap_servers: str, database_url: str, workdir: Path, *, services: tuple[str, ...] | None = None,
    instances: dict[str, int] | None = None, **settings: str,
) -> District:
    """``services``: which of the four to run (all by default); ``instances``: how many of each (1)."""
    run = uuid.uuid4().hex[:8]
    namespace = f"e{run}."
    schemas = {name: f"e{run}_{suffix}" for name, _, suffix in SERVICES}
    base = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("HTTP_", "DATABASE_", "KAFKA_", "TOPIC_", "CLOCK_", "AUTH_", "SCHEMA_"))
    }
    # The tests' signing key (the root conftest's): the processes trust what the tests sign.
    base |= {k: os.environ[k] for k in ("AUTH_ENVIRONMENT", "AUTH_PUBLIC_KEY_FILE") if k in os.environ}
    base |= {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "DATABASE_URL": database_url,
        "TOPIC_NAMESPACE": namespace,
        "RELAY_IDLE_POLL_SECONDS": "0.05",
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
        # Scheduled rankings would reach every inbox test's webhook; a test about them passes
        # ranking_schedule="true".
        "RANKING_SCHEDULE": "false",
    }
    base |= {k.upper(): v for k, v in settings.items()}
    result = District(namespace, schemas)
    workdir.mkdir(parents=True, exist_ok=True)
    for name, package, _ in SERVICES:
        if services is not None and name not in services:
            continue
        # SCHEMA_NAME too: a service whose settings still read the older name must not fall back
        # to its default schema, which every other run would share.
        env = base | {
            "HTTP_PORT": str(free_port()),
            "DATABASE_SCHEMA": schemas[name],
            "SCHEMA_NAME": schemas[name],
            "HTTP_HOST": "127.0.0.1",
        }
        result.processes[name] = Process(name, package, int(env["HTTP_PORT"]), env, workdir / f"{name}.log")
    # The assessment's page reads the network through the assessment from this run's services log.
    if "assessment" in result.processes and "services-log" in result.processes:
        result.processes["assessment"].env["SERVICES_LOG_URL"] = result.processes["services-log"].url
    for name, count in (instances or {}).items():
        for _ in range(count - 1):
            result.add_instance(name)
    return result


def forget_run(bootstrap_servers: str, database_url: str, namespace: str, schemas: list[str]) -> None:
    """Drop a finished run's schemas and delete its topics (its logs stay in the workdir).

    The broker and the database are shared by every engineer's tests: left behind, runs pile up,
    and a broker with thousands of topics answers the services' readiness probe (metadata of
    every topic) slowly. In a thread of its own: the caller may be inside a test's event loop.
    """
    import asyncpg

    from platform_kit.testing import delete_topics

    async def forget() -> None:
        connection = await asyncpg.connect(database_url)
        try:
            for schema in schemas:
                await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await connection.close()
        # the namespace's topics, and the dead-letter topics named after the services' schemas
        await delete_topics(bootstrap_servers, namespaces=[namespace], schemas=schemas)

    worker = threading.Thread(target=asyncio.run, args=(forget(),))
    worker.start()
    worker.join(timeout=60)


def running_district(bootstrap_servers: str, database_url: str, workdir: Path, **settings) -> Iterator[District]:
    d = district(bootstrap_servers, database_url, workdir, **settings)
    try:
        d.start()
        yield d
    finally:
        d.stop()
        forget_run(bootstrap_servers, database_url, d.namespace, list(d.schemas.values()))
