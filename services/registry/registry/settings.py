"""The registry's settings: the kit's, plus its own (every one from the environment)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from platform_kit.settings import KitSettings


class RegistrySettings(KitSettings):
    service_name: str = "registry"
    http_port: int = Field(8101, ge=1, le=65535)
    database_schema: str = Field("registry", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="the registry's own schema")
    identity_secret: SecretStr = Field(
        SecretStr("local-development-only: set IDENTITY_SECRET in production"),
        description="HMAC key for the ID-number index (duplicate registrations); changing it forgets every ID number",
    )
    id_lookups_per_minute: int = Field(
        30, ge=1, description="ID-number look-ups a caller (token sub) may make a minute, with bursts as large (429 beyond)"
    )
    hospital_birth_grace_days: int = Field(
        30, ge=0, description="days after a birth within which the family or community must report it (漏报出生 after that)"
    )
    birth_match_days: int = Field(3, ge=0, description="reports of one mother's births this many days apart are one child")
    reconciliation_interval_seconds: float = Field(
        3600.0, ge=0, description="how often the hospital-birth reconciliation runs by itself; 0: only when asked (POST)"
    )
    task_secret: SecretStr = Field(
        SecretStr("local-development-only: set TASK_SECRET in production"),
        description="derives each department's key for what it is sent on tasks.<department> (platform_kit.sealing)",
    )
    task_due_days: int = Field(30, ge=1, description="local setting: days a department has for an enrolment task")
    permit_notice_days: int = Field(30, ge=1, description="local setting: a permit expiring within this many days is a task")
    task_sweep_interval_seconds: float = Field(
        0.0, ge=0, description="how often the department-task sweep runs by itself; 0: only when asked (POST)"
    )
    task_dispatch_poll_seconds: float = Field(0.5, gt=0, description="how often the task outbox is looked at when idle")
