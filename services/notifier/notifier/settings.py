"""What the notifier reads from its environment, on top of what every service reads."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from platform_kit.settings import KitSettings


class NotifierSettings(KitSettings):
    service_name: str = "notifier"
    http_port: int = Field(8104, ge=1, le=65535)
    database_schema: str = Field(
        "notifier", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="the notifier's own PostgreSQL schema"
    )

    rules_file: Path | None = Field(None, description="a rules file to use instead of the packaged notifier/rules.toml")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_sender: str = "notifier@shizhong.example"
    smtp_timeout_seconds: float = Field(10.0, gt=0)

    sms_gateway_url: str | None = Field(
        None, description="the SMS gateway's send endpoint; unset: SMS deliveries are dead-lettered"
    )
    sms_quiet_hours_start: time = time(21, 0)
    sms_quiet_hours_end: time = time(8, 0)

    webhook_secret: SecretStr = SecretStr("change-me")
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="WEBHOOK_ALLOWED_HOSTS: the hosts a webhook subscription may name, comma-separated, exactly "
        "(https only; in development a loopback address is allowed over http as well)",
    )
    http_timeout_seconds: float = Field(10.0, gt=0)

    max_attempts: int = Field(6, ge=1, description="attempts on a channel before the delivery is dead-lettered")
    retry_base_seconds: float = Field(30.0, gt=0, description="wait after the first failure; doubles each time")
    retry_max_seconds: float = Field(3600.0, gt=0)

    delivery_poll_seconds: float = Field(1.0, gt=0)
    delivery_concurrency: int = Field(20, ge=1, description="recipients served at once, per channel")
    scheduler_poll_seconds: float = Field(5.0, gt=0)

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [host.strip().lower() for host in value.split(",") if host.strip()]
        return value
