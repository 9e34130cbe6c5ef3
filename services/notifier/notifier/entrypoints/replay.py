"""The notifier's replay plan (``msp replay notifier``): its decisions rebuilt from the
registry's, the services log's and the assessment's event stores by its own rules.

The notifier's tables hold two things: what the events decided, and what the clock did to it.
Only the first can come out of history bit for bit, and only it is compared: the residents'
facts, the closings and cancellations, the notifications the events themselves made (a notice,
a watch opened; not their order ``seq`` or ``decided_at``), and the timers the events opened
(when they fire, for whom, on what cause, saying what). What events decide does not depend on
the order the topics' partitions arrive in (``domain.decisions.decide`` reads what it remembers
of a person only for events of the person's own stream; ``domain.model.superseded``), so the
replay's order (when each event was recorded) decides the same. Not compared: a timer's state
(the scheduler fires it when the running service's clock passes it, and a timer fired before a
move can no longer be cancelled by it), what a firing said or opened (reminders, the next period
of a repeating watch), a timer's kept facts (a repeat's next period reads them when it fires),
deliveries, inbox and subscriptions (the running service's).
"""

from __future__ import annotations

from platform_kit.audit.replay import ReplayPlan
from platform_kit.clock import SYSTEM_CLOCK
from platform_kit.contract import catalogue
from platform_kit.topics import Topics
from platform_kit.units import unit_tree

from notifier.domain.rulebook import load_rulebook
from notifier.entrypoints.projections import DecisionsProjection
from notifier.settings import NotifierSettings

VIEWS = {
    "timers": "SELECT timer_id, rule, subject, step, at_days, fire_at, due_at, reminder, recipients, resident_id, "
    "text, caused_by_event_id, correlation_id, cause_unit, opened_at FROM {schema}.timers t WHERE NOT EXISTS ("
    "SELECT 1 FROM {schema}.timers r WHERE r.step = -1 AND r.rule = t.rule AND r.caused_by_event_id = t.caused_by_event_id "
    "AND r.due_at = t.opened_at)",  # a rollover's firing opened it
    "notifications": "SELECT notification_id, rule, title, step, recipient, text, unit_code, caused_by_event_id, "
    "correlation_id FROM {schema}.notifications WHERE step IN ('notice', 'opened')",
}


def plan(registry_schema: str = "registry", services_schema: str = "services_log", assessment_schema: str = "assessment") -> ReplayPlan:
    book = load_rulebook(NotifierSettings().rules_file)

    def projection(schema: str) -> DecisionsProjection:
        return DecisionsProjection(Topics(""), schema, book, unit_tree(), SYSTEM_CLOCK, catalogue)

    return ReplayPlan(
        sources=(registry_schema, services_schema, assessment_schema), projection=projection,
        compared=("residents", "closings", "cancellations", "timers", "notifications"), views=VIEWS,
    )
