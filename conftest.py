"""Fixtures for every test: the real Kafka broker and the real PostgreSQL server.

The stack is the one ``make up`` started (``deploy/local/stack.sh status`` says where), or
the one named by ``KAFKA_BOOTSTRAP_SERVERS`` and ``DATABASE_URL``. With a Docker engine and
``TEST_STACK=testcontainers``, the same tests run against throw-away containers instead.
Every test gets its own schema and its own topics, so tests never see each other's data.

Every service answers only signed callers (docs/security.md): the session makes a signing key
of its own (or uses ``MSP_KEY_DIR``'s, for tests against running services) and points
``AUTH_*`` at it before any service is built, so in-process apps and started processes trust it;
``platform_kit.testing.bearer()`` gives the Authorization header of a token signed with it.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from platform_kit import testing
from platform_kit.database import create_pool
from platform_kit.kafka import ensure_topics, idempotent_producer
from platform_kit.testing import free_port

REPO = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Stack:
    bootstrap_servers: str
    database_url: str


def _local_stack() -> Stack:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("DATABASE_URL"):
        return Stack(os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"])
    status = subprocess.run(
        [str(REPO / "deploy/local/stack.sh"), "status"], capture_output=True, text=True, check=False
    )
    values = dict(line.split("=", 1) for line in status.stdout.splitlines() if "=" in line)
    if status.returncode != 0:
        pytest.exit(f"the local stack is not running (make up): {status.stdout}{status.stderr}", returncode=3)
    return Stack(values["KAFKA_BOOTSTRAP_SERVERS"], values["DATABASE_URL"])


def pytest_configure(config: pytest.Config) -> None:
    import tempfile

    testing.use_test_key(os.environ.get("MSP_KEY_DIR") or tempfile.mkdtemp(prefix="msp-test-keys-"))


@pytest.fixture(autouse=True)
def _auth_kit_tests_configure_themselves(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The auth kit's own tests build their settings field by field: the session's AUTH_* (a
    second key source) would change what they test."""
    if Path(str(request.node.path)).name.startswith("test_auth_"):
        for name in [k for k in os.environ if k.startswith("AUTH_")]:
            monkeypatch.delenv(name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Test layers by folder: ``unit/`` needs nothing running; ``e2e/`` drives the running
    services; everything else is an integration test against the real Kafka and PostgreSQL."""
    for item in items:
        marked = {m.name for m in item.iter_markers()}
        parts = Path(str(item.path)).relative_to(REPO).parts
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)
        if "unit" in parts and "integration" not in marked:
            item.add_marker(pytest.mark.unit)
        elif "unit" not in marked:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    if os.environ.get("MSP_UNIT_ONLY"):
        pytest.fail("a unit test asked for Kafka and PostgreSQL: move it out of unit/, or make it need neither")
    if os.environ.get("TEST_STACK") != "testcontainers":
        yield _local_stack()
        return
    yield from _containers()


def _containers() -> Iterator[Stack]:
    """The official Apache Kafka and PostgreSQL images, configured as deploy/docker-compose.yml.
    Kafka must advertise the port the host sees, so that port is chosen before the start."""
    from testcontainers.community.postgres import PostgresContainer
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    port = free_port()
    kafka = (
        DockerContainer("apache/kafka:4.4.0")
        .with_bind_ports(port, port)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_LISTENERS", f"PLAINTEXT://:{port},CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{port}")
        .with_env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env("KAFKA_NUM_PARTITIONS", "3")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
    )
    with kafka, PostgresContainer("postgres:17", driver=None) as pg:
        wait_for_logs(kafka, "Kafka Server started", timeout=120)
        yield Stack(f"127.0.0.1:{port}", pg.get_connection_url())


@pytest.fixture
async def pool(stack: Stack):
    pool = await create_pool(stack.database_url, max_size=20)
    yield pool
    await pool.close()


@pytest.fixture
async def schema(stack: Stack, pool) -> AsyncIterator[str]:
    """A schema of this test's own, dropped afterwards with the dead-letter topics of the
    projections kept in it (or in a schema named after it)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    await pool.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    await testing.delete_topics(stack.bootstrap_servers, schemas=[name])


@pytest.fixture
async def topic(stack: Stack) -> AsyncIterator[str]:
    """A topic of this test's own, with the platform's partitioning, deleted afterwards."""
    name = f"test.{uuid.uuid4().hex[:12]}.events"
    await ensure_topics(stack.bootstrap_servers, [name], partitions=3)
    yield name
    await testing.delete_topics(stack.bootstrap_servers, names=[name])


@pytest.fixture
async def namespace(stack: Stack) -> AsyncIterator[str]:
    """A topic namespace of this test's own: every topic under it is deleted afterwards (the
    shared broker keeps files open for each, and dies of too many once they pile up)."""
    name = testing.new_namespace()
    yield name
    await testing.delete_topics(stack.bootstrap_servers, namespaces=[name])


@pytest.fixture
async def producer(stack: Stack):
    producer = idempotent_producer(stack.bootstrap_servers)
    await producer.start()
    yield producer
    await producer.stop()
