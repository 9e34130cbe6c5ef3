"""Kafka clients configured the one way this platform uses them.

Each client authenticates as its service's (or department's) principal when the environment
says so (``KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT`` or ``SASL_SSL``, ``KAFKA_SASL_USERNAME``,
``KAFKA_SASL_PASSWORD`` or ``KAFKA_SASL_PASSWORD_FILE``; docs/security.md): the broker's ACLs
then decide which topics and groups it may use. Unset, the clients speak PLAINTEXT."""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from platform_kit.logs import get_logger
from platform_kit.topics import DOMAIN_TOPICS

PROTOCOLS = ("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")

log = get_logger(__name__)

KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
_DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs' config_source of a value set on the topic itself
_NOT_OURS_TO_SEE = {29, 31}  # TOPIC_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED


@dataclass(frozen=True)
class KafkaSecurity:
    """How a client proves who it is to the broker. ``repr`` never shows the password."""

    protocol: str = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = None
    cafile: str | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL: {self.protocol!r} is not one of {', '.join(PROTOCOLS)}")
        if self.mechanism not in MECHANISMS:
            raise ValueError(f"KAFKA_SASL_MECHANISM: {self.mechanism!r} is not one of {', '.join(MECHANISMS)}")
        if self.sasl and not (self.username and self.password):
            raise ValueError(f"KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or _FILE) are required with {self.protocol}")

    def __repr__(self) -> str:
        return f"KafkaSecurity({self.protocol}, {self.mechanism if self.sasl else '-'}, user={self.username!r})"

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KafkaSecurity:
        env = os.environ if env is None else env
        password = env.get("KAFKA_SASL_PASSWORD") or None
        if not password and env.get("KAFKA_SASL_PASSWORD_FILE"):
            # A mounted secret (Kubernetes, the local stack's credential files): one line.
            password = Path(env["KAFKA_SASL_PASSWORD_FILE"]).read_text().strip()
        return cls(
            protocol=env.get("KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT", mechanism=env.get("KAFKA_SASL_MECHANISM") or "SCRAM-SHA-512",
            username=env.get("KAFKA_SASL_USERNAME") or None, password=password, cafile=env.get("KAFKA_SSL_CAFILE") or None,
        )

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producers, consumers and admin client."""
        if not self.sasl:
            return {}
        options: dict[str, Any] = {
            "security_protocol": self.protocol, "sasl_mechanism": self.mechanism,
            "sasl_plain_username": self.username, "sasl_plain_password": self.password,
        }
        if self.protocol == "SASL_SSL":
            options["ssl_context"] = ssl.create_default_context(cafile=self.cafile)
        return options

    def faststream(self) -> Any:
        """The same, as FastStream's ``security=`` for a ``KafkaBroker`` (None: PLAINTEXT)."""
        if not self.sasl:
            return None
        from faststream.security import SASLPlaintext, SASLScram256, SASLScram512

        kind = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}[self.mechanism]
        ssl_context = ssl.create_default_context(cafile=self.cafile) if self.protocol == "SASL_SSL" else None
        return kind(self.username, self.password, ssl_context=ssl_context, use_ssl=self.protocol == "SASL_SSL")


def _security(security: KafkaSecurity | None) -> dict[str, Any]:
    return (security or KafkaSecurity.from_env()).client_options()


def idempotent_producer(
    bootstrap_servers: str, *, client_id: str | None = None, security: KafkaSecurity | None = None
) -> AIOKafkaProducer:
    """A producer that never writes a message twice on its own retries and keeps per-key order.

    ``enable_idempotence`` implies ``acks=all``; batches linger briefly to fill up.
    """
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=512 * 1024,
        request_timeout_ms=30_000,
        **_security(security),
    )


def group_consumer(
    bootstrap_servers: str,
    *,
    group_id: str,
    max_partition_fetch_bytes: int = 4 * 1024 * 1024,
    auto_offset_reset: str = "earliest",
    security: KafkaSecurity | None = None,
) -> AIOKafkaConsumer:
    """A group member whose position lives in PostgreSQL, never in Kafka (no auto commit).

    The projection runner passes ``auto_offset_reset="none"``: it seeks every partition
    itself, and a partition it failed to seek must not be read from a guessed offset."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset=auto_offset_reset,
        isolation_level="read_committed",
        max_partition_fetch_bytes=max_partition_fetch_bytes,
        fetch_max_bytes=16 * 1024 * 1024,
        **_security(security),
    )


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """``consumer.stop()``, finished even when the broker is down.

    aiokafka's stop cancels the requests still waiting for the dead broker and awaits them, and
    such a cancellation can come out of stop() as a CancelledError: the caller would take it for
    its own (a runner told to stop would end as if cancelled) and the client's connections would
    stay open. A cancellation of the caller itself still goes through."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        log.warning("kafka.consumer_stop_interrupted")
        await consumer._client.close()  # the step of stop() the cancellation skipped


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str] = DOMAIN_TOPICS,
    *,
    partitions: int = 3,
    replication_factor: int = 1,
    keep_forever: bool = True,
    security: KafkaSecurity | None = None,
) -> None:
    """Create the topics that are missing. Event topics keep their history forever, since
    projections in other services are rebuilt from them: one that already exists with a
    retention (auto-created by a producer that came first: a week) is set to keep forever too."""
    config = dict(KEEP_FOREVER) if keep_forever else {}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **_security(security))
    await admin.start()
    try:
        # On a secured bus the operator creates the public topics (kafka_acls) and each service
        # may DESCRIBE them all, so it finds them here and creates only its dead-letter topics.
        existing = set(await admin.list_topics())
        wanted = list(dict.fromkeys(topics))
        missing = [t for t in wanted if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(t, partitions, replication_factor, topic_configs=config) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass  # another process made it first: that is what we wanted
            await _listed(admin, missing)
        if keep_forever and (present := [t for t in wanted if t in existing]):
            await _keep_forever(admin, present)
    finally:
        await admin.close()


async def _listed(admin: AIOKafkaAdminClient, topics: list[str], timeout: float = 30.0) -> None:
    """Return once the broker's metadata lists the new topics. The controller answers the
    creation before every broker's metadata has it; on a busy machine a consumer, a producer or
    a listing right after could still find no such topic (a test on two workers met it)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while missing := set(topics) - set(await admin.list_topics()):
        if asyncio.get_running_loop().time() > deadline:
            raise KafkaError(f"created, yet not listed by the broker after {timeout:.0f} s: {', '.join(sorted(missing))}")
        await asyncio.sleep(0.1)


async def _keep_forever(admin: AIOKafkaAdminClient, topics: list[str]) -> None:
    """Set existing topics' retention to forever, keeping every other value set on each.

    AlterConfigs (aiokafka has no incremental form) replaces a topic's whole set of
    overrides, so the ones it has are sent back with the retention."""
    [described] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
    changes = []
    for error_code, error_message, _type, topic, entries in described.resources:
        if error_code in _NOT_OURS_TO_SEE:
            # On a secured bus the operator owns the public topics' settings (kafka_acls made
            # them keep forever); a service may not read them, and need not.
            log.info("kafka.retention_left_to_operator", topic=topic)
            continue
        if error_code:
            raise for_code(error_code)(f"{topic}: its configuration could not be read: {error_message}")
        overrides = {name: value for name, value, _ro, source, *_ in entries if source == _DYNAMIC_TOPIC_CONFIG}
        if any(overrides.get(k) != v for k, v in KEEP_FOREVER.items()):
            changes.append(ConfigResource(ConfigResourceType.TOPIC, topic, overrides | KEEP_FOREVER))
            log.warning("kafka.retention_corrected", topic=topic, was={k: overrides.get(k) for k in KEEP_FOREVER})
    if changes:
        [altered] = await admin.alter_configs(changes)
        for error_code, error_message, _type, topic in altered.resources:
            if error_code:
                raise for_code(error_code)(f"{topic}: its retention could not be set to forever: {error_message}")
