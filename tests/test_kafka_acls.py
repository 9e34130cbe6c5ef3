"""The bus secured like the HTTP side (docs/security.md, "Kafka"), on a private broker.

The module starts a Kafka of its own with ``KAFKA_SECURITY=sasl`` (deploy/local/stack.sh: SASL/SCRAM
on the client listener, ACLs from platform_kit.kafka_acls, nothing allowed that no ACL names), on
free ports and a temporary STACK_DIR, using the shared PostgreSQL; it never touches the shared
broker. It shows:

- a department's principal writes its own ingest topic, and is refused another department's topic
  (TopicAuthorizationFailed) and the registry's events (it reads nothing);
- a service's principal cannot write another service's topic;
- a client without credentials, or with a wrong password, is not let in;
- the four services run end to end with their own credentials: a hospital's birth report, sent
  as ``dept-health``, reaches the registry, the assessment's figures and the notifier's inbox.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAuthorizationFailedError

from platform_kit import kafka_acls
from platform_kit.kafka import KafkaSecurity, idempotent_producer

TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS), str(TESTS / "faults"), str(TESTS / "e2e")]

from district_api import Api, about, department_message, eventually, married_migrant_woman  # noqa: E402
from private_stack import STACK, free_ports, shared_libs  # noqa: E402
from service_processes import district as make_district  # noqa: E402

GETABU, CHANGAN = "370402004000", "370402004001"
REPLAY_START = "2013-06-10T10:00:00+08:00"


class SecuredKafka:
    """A private single-node Kafka with SASL/SCRAM and ACLs; PostgreSQL is the shared one."""

    def __init__(self, database_url: str) -> None:
        self.stack_dir = Path(tempfile.mkdtemp(prefix="sasl-stack-", dir="/tmp"))
        port = free_ports(2)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "STACK_DIR"))}
        env.update(STACK_DIR=str(self.stack_dir), KAFKA_PORT=str(port), PG_PORT=str(free_ports()),
                   DATABASE_URL=database_url, KAFKA_SECURITY="sasl", KAFKA_HEAP_OPTS="-Xms128m -Xmx512m")
        if libs := shared_libs():
            env["KAFKA_LIBS"] = libs
        self.env = env
        self.bootstrap_servers = f"127.0.0.1:{port}"
        self.sasl_dir = self.stack_dir / "kafka" / "sasl"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(STACK), *args], env=self.env, capture_output=True, text=True, timeout=600)

    def password_file(self, principal: str) -> Path:
        return self.sasl_dir / f"{principal}.password"

    def as_(self, principal: str, password: str | None = None) -> KafkaSecurity:
        password = password or self.password_file(principal).read_text().strip()
        return KafkaSecurity("SASL_PLAINTEXT", "SCRAM-SHA-512", principal, password)


@pytest.fixture(scope="module")
def secured(stack) -> SecuredKafka:
    kafka = SecuredKafka(stack.database_url)
    try:
        up = kafka.run("up")
        assert up.returncode == 0, up.stderr[-3000:]
        status = dict(line.split("=", 1) for line in up.stdout.splitlines() if "=" in line)
        assert status["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT", up.stdout
        yield kafka
    finally:
        kafka.run("down", "--purge")
        shutil.rmtree(kafka.stack_dir, ignore_errors=True)


async def send(bootstrap: str, security: KafkaSecurity, topic: str, value: bytes, key: bytes = b"k") -> None:
    producer = idempotent_producer(bootstrap, security=security)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def test_a_department_writes_its_own_ingest_topic_and_no_other(secured):
    health = secured.as_("dept-health")
    await send(secured.bootstrap_servers, health, "ingest.health", b"{}")
    with pytest.raises(TopicAuthorizationFailedError):
        await send(secured.bootstrap_servers, health, "ingest.education", b"{}")
    with pytest.raises(TopicAuthorizationFailedError):
        await send(secured.bootstrap_servers, health, "registry.events", b"{}")


async def test_a_department_reads_no_other_topic(secured):
    for topic in ("registry.events", "ingest.education", "ingest.rejected"):
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=secured.bootstrap_servers, group_id="dept-health.peek",
            auto_offset_reset="earliest", **secured.as_("dept-health").client_options(),
        )
        try:
            with pytest.raises(TopicAuthorizationFailedError):
                await consumer.start()
                await asyncio.wait_for(consumer.getmany(timeout_ms=5000), 60)
        finally:
            await consumer.stop()


async def test_a_service_writes_only_its_own_events_topic(secured):
    registry = secured.as_("registry")
    await send(secured.bootstrap_servers, registry, "registry.events", b"{}")
    with pytest.raises(TopicAuthorizationFailedError):
        await send(secured.bootstrap_servers, registry, "services.events", b"{}")
    with pytest.raises(TopicAuthorizationFailedError):
        await send(secured.bootstrap_servers, registry, "ingest.health", b"{}")


@pytest.mark.parametrize("who", ["anonymous", "wrong-password"])
async def test_a_client_without_valid_credentials_is_not_let_in(secured, who):
    options = {} if who == "anonymous" else secured.as_("dept-health", password="not-the-password").client_options()
    producer = AIOKafkaProducer(bootstrap_servers=secured.bootstrap_servers, request_timeout_ms=10_000, **options)
    try:
        with pytest.raises((KafkaConnectionError, KafkaError)):
            await asyncio.wait_for(producer.start(), 120)
            await producer.send_and_wait("ingest.health", b"{}")  # reached only if start let it in
    finally:
        with suppress(Exception):
            await producer.stop()


async def test_the_services_work_end_to_end_with_their_own_credentials(secured, tmp_path):
    district = make_district(
        secured.bootstrap_servers, secured.env["DATABASE_URL"], tmp_path,
        clock_start=REPLAY_START, clock_started_at=datetime.now(UTC).isoformat(),
    )
    # The operator makes this run's topics and rules; each service then signs in as itself.
    await kafka_acls.secure(secured.bootstrap_servers, district.namespace, district.schemas, security=secured.as_("admin"))
    for name, process in district.processes.items():
        process.env |= {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                        "KAFKA_SASL_USERNAME": name, "KAFKA_SASL_PASSWORD_FILE": str(secured.password_file(name))}
    api = None
    try:
        district.start()
        api = Api(district)
        mother = (await api.post("registry", "/api/residents", married_migrant_woman(CHANGAN, 7), 201))["resident_id"]
        report = department_message("health", "BirthReported", CHANGAN, "2013-06-01T00:00:00+08:00", {
            "mother_resident_id": mother, "child_resident_id": "6f1c1c5e-7e53-4c8e-9a37-0c4f6f1d2b11",
            "birth_date": "2013-06-01", "sex": "male", "reported_by": "hospital", "report_ref": "HOSP-SASL-1",
        })
        await send(secured.bootstrap_servers, secured.as_("dept-health"), f"{district.namespace}ingest.health",
                   json.dumps(report).encode(), key=b"sasl-test")
        child = report["payload"]["child_resident_id"]
        # The registry read the department's topic and published on its own: the newborn is there,
        # the assessment counts mother and child, the notifier told her unit of her arrival.
        await eventually(lambda: api.http.get(api.url("registry", f"/api/residents/{child}")),
                         lambda r: r.status_code == 200, "the newborn in the registry")
        await eventually(lambda: api.figures(CHANGAN, "2013"), lambda f: f["services_where_they_live"] == (0, 2),
                         "mother and newborn counted in 长安社区")
        await eventually(lambda: api.inbox(CHANGAN), lambda i: about(i, "inflow", mother), "the inflow notice")
    finally:
        if api is not None:
            await api.close()
        district.stop()
        # The broker is purged with the module; the run's schemas are the shared PostgreSQL's.
        import asyncpg

        connection = await asyncpg.connect(secured.env["DATABASE_URL"])
        try:
            for schema in district.schemas.values():
                await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await connection.close()
