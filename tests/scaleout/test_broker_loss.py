"""One broker of three dies (kill -9) while events flow from the event store through the relay
to a projection, and comes back: nothing is lost and nothing is applied twice.

A private three-node KRaft cluster (``stack.sh up-cluster``, replication factor 3,
min.insync.replicas 2) in a temporary folder on free ports; PostgreSQL is the shared one (only
Kafka is hurt here). The kit's pieces run in this process: ``EventStore.append``, the
``OutboxRelay`` with the idempotent producer (acks=all), and a ``ProjectionRunner`` whose read
model counts, per event id, how many times it was applied. Appended versus applied, exactly
once, is the check; the topic may hold a batch twice (the relay is at least once by design)
and the runner must see through it. Every wait polls with a deadline; none measures time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from platform_kit.envelope import Envelope
from platform_kit.event_store import EventStore
from platform_kit.kafka import ensure_topics, idempotent_producer
from platform_kit.outbox_relay import OutboxRelay
from platform_kit.projection import Projection, ProjectionRunner
from platform_kit.testing import read_topic_to_end, service_delivered, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "deploy" / "local" / "stack.sh"
# The jars of the stack `make test` started (STACK_DIR), read-only: nothing is fetched again.
SHARED_LIBS = os.environ.get("KAFKA_LIBS") or str(Path(os.environ.get("STACK_DIR") or REPO / ".stack") / "kafka" / "libs")
EVENTS = 600
VICTIM = 2  # the node killed: it leads some of the topic's partitions and is a controller voter
DEADLINE = 150


def _ports(pairs: int) -> list[int]:
    """``pairs`` ports p, each with p+1 free too (a node's PLAINTEXT and CONTROLLER listeners).

    Below Linux's ephemeral range (32768-60999): a port the kernel handed out for a bind to 0
    may be given again to any client's outgoing connection before the broker binds it."""
    found: list[int] = []
    while len(found) < pairs:
        port = random.randrange(20000, 32700, 2)
        if port not in (19092, 19192, 19194, 19196) and port not in found and all(_free(p) for p in (port, port + 1)):
            found.append(port)
    return found


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return not _open(port)


def _open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Cluster:
    folder: Path
    ports: list[int]
    env: dict[str, str]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def run(self, *args: str) -> None:
        result = subprocess.run([str(STACK), *args], env=self.env, capture_output=True, text=True, timeout=400)
        # The broker's own complaint first (a log tail is mostly its shutdown), then the tail.
        complaints = [line for line in result.stderr.splitlines() if " ERROR " in line or "Exception" in line][:10]
        assert result.returncode == 0, f"stack.sh {' '.join(args)}: {complaints} ... {result.stderr[-2000:]}"

    def pids(self) -> list[int]:
        return [int(f.read_text()) for f in (self.folder / "cluster/run").glob("kafka-*.pid")]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(prefix="scaleout-cluster-", dir="/tmp"))
    ports = _ports(3)
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_PORT")}
    env |= {"STACK_DIR": str(folder), "CLUSTER_DIR": str(folder / "cluster"), "KAFKA_LIBS": SHARED_LIBS,
            "CLUSTER_PORTS": ",".join(map(str, ports))}
    cluster = Cluster(folder, ports, env)
    started: list[int] = []
    try:
        cluster.run("up-cluster")
        started = cluster.pids()
        yield cluster
    finally:
        # kill -9 first: the data is thrown away, so a controlled shutdown buys nothing here.
        for node in ("1", "2", "3"):
            subprocess.run([str(STACK), "kill-broker", node], env=env, capture_output=True, timeout=120)
        subprocess.run([str(STACK), "down-cluster", "--purge"], env=env, capture_output=True, timeout=300)
        shutil.rmtree(folder, ignore_errors=True)
        for pid in started:  # nothing left behind
            assert not Path(f"/proc/{pid}").exists() or "kafka.Kafka" not in Path(f"/proc/{pid}/cmdline").read_text()


class AppliedOnce(Projection):
    """How many times each event took effect: exactly once is the promise under test."""

    ddl = "CREATE TABLE IF NOT EXISTS {schema}.applied (event_id uuid PRIMARY KEY, times integer NOT NULL)"

    def __init__(self, topic: str, schema: str) -> None:
        self.name, self.topics, self.schema = "applied_once", [topic], schema

    async def apply(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.applied AS a SELECT unnest($1::uuid[]), 1 "
            "ON CONFLICT (event_id) DO UPDATE SET times = a.times + 1",
            [e.event_id for e in events],
        )

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute(f"TRUNCATE {self.schema}.applied")


async def min_insync_replicas(bootstrap_servers: str, topic: str) -> str:
    """The topic's effective min.insync.replicas. A broker that has not yet heard of a topic
    just created answers with an error and no entries, so ask again until one knows it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
            error_code, error_message, *_, entries = response.resources[0]
            values = {entry[0]: entry[1] for entry in entries}
            if error_code == 0 and "min.insync.replicas" in values:
                return values["min.insync.replicas"]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no broker describes {topic}: error {error_code} {error_message}")
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def running(*loops):
    stop = asyncio.Event()
    tasks = [asyncio.create_task(loop.run(stop)) for loop in loops]
    try:
        yield
    finally:
        stop.set()
        # aiokafka's consumer.stop() re-raises the CancelledError of its own fetch task when a
        # broker is down (fetcher.close awaits the task it cancelled): the loop has stopped
        # all the same. Anything else a loop raised is the test's business.
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
                raise outcome


async def test_a_broker_killed_and_restarted_mid_stream_loses_and_doubles_nothing(cluster, stack, pool, schema):
    bootstrap = cluster.bootstrap_servers
    topic = f"scaleout.{uuid.uuid4().hex[:12]}.events"
    await ensure_topics(bootstrap, [topic], partitions=3, replication_factor=3)
    assert await min_insync_replicas(bootstrap, topic) == "2"

    store = EventStore(pool, schema)
    await store.setup()

    async def producer_factory():
        producer = idempotent_producer(bootstrap)
        await producer.start()
        return producer

    relay = OutboxRelay(database_url=stack.database_url, schema=schema, topic=topic,
                        producer_factory=producer_factory, idle_poll_seconds=0.05)
    dead_letters = await producer_factory()
    runner = ProjectionRunner(AppliedOnce(topic, schema), pool=pool, schema=schema, bootstrap_servers=bootstrap,
                              producer=dead_letters, batch_size=50, topic_replication_factor=3)
    await runner.setup()
    appended: list[Envelope] = []

    async def append(count: int) -> None:
        for _ in range(count // 5):
            n = len(appended)
            # Forty streams, each one version longer every forty events: keys spread over the partitions.
            batch = [service_delivered(f"resident-{k % 40}", k // 40 + 1, index=k) for k in range(n, n + 5)]
            await store.append(batch)
            appended.extend(batch)
            await asyncio.sleep(0.02)

    async def applied() -> tuple[int, int]:
        row = await pool.fetchrow(f"SELECT count(*) AS n, coalesce(max(times), 0) AS most FROM {schema}.applied")
        return row["n"], row["most"]

    try:
        async with running(relay):
            async with running(runner):
                await append(EVENTS // 3)
                await wait_until(lambda: _at_least(applied, 50), timeout=DEADLINE, what="events flowing")
                # kill -9 mid-stream, appends going on meanwhile.
                killing = asyncio.create_task(asyncio.to_thread(cluster.run, "kill-broker", str(VICTIM)))
                await append(EVENTS // 6)
                await killing
            # The projection's replica restarts while the node is down: it must take up from its
            # stored positions, through a group coordinator and partition leaders that moved.
            runner = ProjectionRunner(AppliedOnce(topic, schema), pool=pool, schema=schema, bootstrap_servers=bootstrap,
                                      producer=dead_letters, batch_size=50, topic_replication_factor=3)
            async with running(runner):
                await append(EVENTS // 6)
                restarting = asyncio.create_task(asyncio.to_thread(cluster.run, "start-broker", str(VICTIM)))
                await append(EVENTS - len(appended))
                await restarting
                await wait_until(lambda: _at_least(applied, len(appended)), timeout=DEADLINE, what="every event applied")
                await asyncio.sleep(2)  # a late redelivery would show up as times = 2
        count, most = await applied()
        ids = {str(e.event_id) for e in appended}
        rows = {str(r["event_id"]) for r in await pool.fetch(f"SELECT event_id FROM {schema}.applied")}
        assert len(appended) == EVENTS
        assert (count, most) == (EVENTS, 1), f"applied {count} distinct events of {EVENTS}, one of them {most} times"
        assert rows == ids
        on_topic = [r.value for r in await read_topic_to_end(bootstrap, topic)]
        assert len(on_topic) >= EVENTS  # at least once on the topic; extra copies are the relay's re-sends
        print(f"appended {EVENTS}, applied {count} once each, {len(on_topic)} records on the topic, "
              f"runner stats {runner.stats}")
    finally:
        await dead_letters.stop()


async def _at_least(applied, n: int) -> bool:
    return (await applied())[0] >= n

