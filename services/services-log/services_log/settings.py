"""What the services log reads from its environment, on top of the kit's settings."""

from __future__ import annotations

from pydantic import Field

from platform_kit.settings import KitSettings


class ServicesLogSettings(KitSettings):
    service_name: str = Field("services-log", pattern=r"^[a-z][a-z0-9-]*$")
    http_port: int = Field(8102, ge=1, le=65535)
    database_schema: str = Field(
        "services_log", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="the service's own PostgreSQL schema"
    )
