"""The services log's replay plan (``msp replay services-log``): its view of the registry
(who lived where, when) rebuilt from the registry's event store by the view's own code.

The records waiting for their resident are write-side state (kept with the record's own
event), not a view: they are neither rebuilt nor compared, and the rebuilt view places no
record (``on_residents_known`` is left out: a replay appends nothing)."""

from __future__ import annotations

from platform_kit.audit.replay import ReplayPlan
from services_log.adapters.registry_view import RegistryView


def plan(registry_schema: str = "registry") -> ReplayPlan:
    return ReplayPlan(
        sources=(registry_schema,), projection=lambda schema: RegistryView(schema, registry_topic=""),
        compared=("registry_residents", "registry_residence_changes"),
    )
