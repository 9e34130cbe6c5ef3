"""Settings every service reads from its environment (12-factor), validated by pydantic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import AwareDatetime, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from platform_kit.clock import Clock


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


    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    service_name: str = Field("platform", pattern=r"^[a-z][a-z0-9-]*$")
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    database_url: str = "postgresql://postgres@127.0.0.1:55432/migrant_services"
    database_pool_size: int = Field(10, ge=1, le=100)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    topic_namespace: str = Field("", pattern=r"^([a-z0-9-]+\.)?$")
    topic_partitions: int = Field(3, ge=1)
    topic_replication_factor: int = Field(1, ge=1)
    relay_batch_size: int = Field(5000, ge=1)
    relay_idle_poll_seconds: float = Field(0.5, gt=0)
    projection_batch_size: int = Field(2000, ge=1)
    clock_start: AwareDatetime | None = None
    clock_started_at: AwareDatetime | None = None
    clock_speed: float = Field(1.0, gt=0)
    clock_fast_until: AwareDatetime | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=1, le=65535)
