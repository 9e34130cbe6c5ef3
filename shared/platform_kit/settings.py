"""Settings every service reads from its environment (12-factor), validated by pydantic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import AwareDatetime, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from platform_kit.clock import Clock
    from platform_kit.kafka import KafkaSecurity


class KitSettings(BaseSettings):
    """What the platform kit needs to reach the bus and the database.

    A service subclasses this and adds its own fields; every field can be set by an
    environment variable of the same name in upper case (``KAFKA_BOOTSTRAP_SERVERS``...).
    The defaults match the local stack that ``make up`` starts. The ``clock_*`` settings
    replay a past year for a demonstration (see :mod:`platform_kit.clock`); unset, the
    system's clock is the machine's.
    """

    def clock(self) -> "Clock":
        from platform_kit.clock import Clock

        return Clock(
            start=self.clock_start,
            started_at=self.clock_started_at,
            speed=self.clock_speed,
            fast_until=self.clock_fast_until,
        )


    def kafka_security(self) -> "KafkaSecurity":
        """The service's own principal on the bus (a ValueError naming what is missing). The
        projections' consumers, built deeper in the kit, read the same variables from the
        environment (``KafkaSecurity.from_env``), as every service process has them."""
        from pathlib import Path

        from platform_kit.kafka import KafkaSecurity

        password = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
        if not password and self.kafka_sasl_password_file:
            password = Path(self.kafka_sasl_password_file).read_text().strip()
        return KafkaSecurity(
            protocol=self.kafka_security_protocol, mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_sasl_username, password=password, cafile=self.kafka_ssl_cafile,
        )

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    service_name: str = Field("platform", pattern=r"^[a-z][a-z0-9-]*$")
    database_schema: str = Field(
        "platform", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="the service's own PostgreSQL schema"
    )
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    # The service's own principal on a secured bus (docs/security.md, "Kafka"); PLAINTEXT: none.
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_sasl_password_file: str | None = Field(None, description="a file holding the password (a mounted secret)")
    kafka_ssl_cafile: str | None = Field(None, description="the CA that signed the brokers' certificates (SASL_SSL)")
    database_url: str = "postgresql://postgres@127.0.0.1:55432/migrant_services"
    database_pool_size: int = Field(10, ge=1, le=100)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    topic_namespace: str = Field("", pattern=r"^([a-z0-9-]+\.)?$")
    topic_partitions: int = Field(3, ge=1)
    topic_replication_factor: int = Field(1, ge=1)
    relay_batch_size: int = Field(5000, ge=1)
    relay_idle_poll_seconds: float = Field(0.5, gt=0)
    # A relay leader whose connection falls silent loses its lock after this long, so a standby takes over.
    relay_lease_seconds: float = Field(30.0, ge=5)
    # Readiness fails while the oldest unpublished event is older than this (a stuck relay).
    outbox_max_age_seconds: float = Field(60.0, gt=0)
    projection_batch_size: int = Field(2000, ge=1)
    clock_start: AwareDatetime | None = None
    clock_started_at: AwareDatetime | None = None
    clock_speed: float = Field(1.0, gt=0)
    clock_fast_until: AwareDatetime | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=1, le=65535)
    # An idle keep-alive connection stays open this long: longer than clients and load balancers
    # keep theirs (httpx 5 s, most balancers 60 s), so that they close it first. With uvicorn's
    # 5 s a client reusing a connection at the moment the server closed it got a reset, not an
    # answer (a command that may or may not have been taken).
    http_keep_alive_seconds: int = Field(75, ge=1, le=3600)
    shutdown_timeout_seconds: float = Field(15.0, gt=0, description="how long a stop waits for loops to finish")
    # Department ingest (services that read ingest.<department> topics through the kit's gate).
    # A replica killed without leaving its consumer group holds its partitions this long...
    ingest_session_timeout_ms: int = Field(10_000, ge=6_000)
    # ...unless it has a stable name (a StatefulSet's pod name): restarted under the same name,
    # it takes its partitions back at once (Kafka static membership). Unique per replica.
    ingest_instance_id: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9.-]{0,99}$")
    # How long a department message waits before it is read again when the database or broker failed.
    ingest_retry_seconds: float = Field(1.0, gt=0)
    # A fact whose stream changed meanwhile is decided again this many times.
    ingest_conflict_retries: int = Field(5, ge=1)
    # The gate reads up to this many department messages at once (one offset commit for them)...
    ingest_batch_max_records: int = Field(500, ge=1)
    # ...and decides up to this many of them at the same time (other people's only: one person's
    # messages stay in their order).
    ingest_concurrency: int = Field(16, ge=1)
