"""The assessment service's settings: the kit's, plus where its rules live and how often it
tells the world; and reading those rules (the district's ``indicators.toml``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import AnyHttpUrl, Field

from assessment.domain.policy import Rules
from platform_kit.settings import KitSettings

DEFAULT_RULES = Path(__file__).with_name("indicators.toml")


class AssessmentSettings(KitSettings):
    service_name: str = "assessment"
    http_port: int = Field(8103, ge=1, le=65535)
    database_schema: str = Field("assessment", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    rules_file: Path = DEFAULT_RULES
    stream_heartbeat_seconds: float = Field(15.0, gt=0)
    announce_interval_seconds: float = Field(1.0, gt=0, description="how often CoverageChanged are published")
    ranking_schedule: bool = Field(True, description="publish the rankings [ranking_schedule] says are due (定期通报)")
    ranking_schedule_seconds: float = Field(60.0, gt=0, description="how often the schedule is looked at")
    services_log_url: AnyHttpUrl | None = Field(
        None, description="the services log's base URL, for the page's network section (GET /api/network passes through)"
    )


def load_rules(path: Path = DEFAULT_RULES) -> Rules:
    with path.open("rb") as file:
        return Rules.model_validate(tomllib.load(file))
