"""Kafka clients configured the one way this platform uses them.

Each client authenticates as its service's (or department's) principal when the environment
says so (``KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT`` or ``SASL_SSL``, ``KAFKA_SASL_USERNAME``,
``KAFKA_SASL_PASSWORD`` or ``KAFKA_SASL_PASSWORD_FILE``; docs/security.md): the broker's ACLs
then decide which topics and groups it may use. Unset, the clients speak PLAINTEXT."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from platform_kit.topics import DOMAIN_TOPICS

PROTOCOLS = ("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


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
    projections in other services are rebuilt from them."""
    config = {"retention.ms": "-1", "retention.bytes": "-1"} if keep_forever else {}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **_security(security))
    await admin.start()
    try:
        # On a secured bus the operator creates the public topics (kafka_acls) and each service
        # may DESCRIBE them all, so it finds them here and creates only its dead-letter topics.
        existing = set(await admin.list_topics())
        missing = [t for t in dict.fromkeys(topics) if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(t, partitions, replication_factor, topic_configs=config) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass  # another process made it first: that is what we wanted
    finally:
        await admin.close()
