"""The assessment's replay plan (``msp replay assessment``): fed from the registry's and the
services log's event stores, rebuilt by its own coverage projection, and compared on the
tables that are history and view (not the announcer's bookkeeping)."""

from __future__ import annotations

from assessment.entrypoints.projection import CoverageProjection
from assessment.settings import AssessmentSettings, load_rules
from platform_kit.audit.replay import ReplayPlan
from platform_kit.contract import catalogue
from platform_kit.units import unit_tree


def plan(registry_schema: str = "registry", services_schema: str = "services_log") -> ReplayPlan:
    rules = load_rules(AssessmentSettings().rules_file)

    def projection(schema: str) -> CoverageProjection:
        return CoverageProjection(schema=schema, topics=[], rules=rules, tree=unit_tree(), catalogue=catalogue)

    return ReplayPlan(
        sources=(registry_schema, services_schema), projection=projection,
        compared=("coverage", "facts", "penalty_facts", "stream_marks"),
    )
