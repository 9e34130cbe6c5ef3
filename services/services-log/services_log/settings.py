"""What the services log reads from its environment, on top of the kit's settings."""

from __future__ import annotations

from pydantic import Field

from platform_kit.settings import KitSettings


class ServicesLogSettings(KitSettings):
    service_name: str = Field("services-log", pattern=r"^[a-z][a-z0-9-]*$")
    http_port: int = Field(8102, ge=1, le=65535)
    services_log_schema: str = Field("services_log", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # A replica killed without leaving its consumer group holds its partitions this long...
    ingest_session_timeout_ms: int = Field(10_000, ge=6_000)
    # ...unless it has a stable name (a StatefulSet's pod name): restarted under the same name, it
    # takes its partitions back at once (Kafka static membership). Unique per replica.
    ingest_instance_id: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,100}$")
    # How long a department message waits before it is retried when the database or broker failed.
    ingest_retry_seconds: float = Field(1.0, gt=0)
