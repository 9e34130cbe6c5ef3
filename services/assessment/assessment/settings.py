"""The assessment service's settings: the kit's, plus where its rules live."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from platform_kit.settings import KitSettings

DEFAULT_RULES = Path(__file__).with_name("indicators.toml")


class AssessmentSettings(KitSettings):
    service_name: str = "assessment"
    http_port: int = Field(8103, ge=1, le=65535)
    schema_name: str = Field("assessment", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    rules_file: Path = DEFAULT_RULES
    stream_heartbeat_seconds: float = Field(15.0, gt=0)
    announce_interval_seconds: float = Field(1.0, gt=0, description="how often CoverageChanged are published")
