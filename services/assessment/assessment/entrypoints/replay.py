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

    # The coverage of the assessment's own years is what is audited. Besides them the view
    # keeps the calendar's current and previous year live (a cache of what is otherwise computed
    # on request), and which those are depends on the clock the replay runs at, not on events.
    audited = ",".join(str(int(y)) for y in rules.assessment.years)
    return ReplayPlan(
        sources=(registry_schema, services_schema), projection=projection,
        compared=("coverage", "facts", "penalty_facts", "stream_marks"),
        views={
            "coverage": f"SELECT * FROM {{schema}}.coverage WHERE left(period, 4)::int IN ({audited})",
            # ``stored`` numbers the facts in the order this view stored them: bookkeeping of the
            # view (adapters/snapshots), not history, so a rebuild numbers them anew.
            "facts": "SELECT subject, event_id, kind, occurred_at, recorded_at, units, data FROM {schema}.facts",
        },
    )
