"""Topic names: part of the public contract (see docs/contract)."""

from __future__ import annotations

from dataclasses import dataclass

REGISTRY_EVENTS = "registry.events"
SERVICES_EVENTS = "services.events"
ASSESSMENT_EVENTS = "assessment.events"
NOTIFIER_EVENTS = "notifier.events"
INGEST_REJECTED = "ingest.rejected"

DEPARTMENTS = ("health", "public-security", "education", "civil-affairs", "hr")
INGEST_TOPICS = tuple(f"ingest.{department}" for department in DEPARTMENTS)
# What the district asks of a department goes back on a topic only that department reads
# (docs/department-tasks.md); its replies come in on its ingest topic.
TASK_DEPARTMENTS = ("education", "health", "public-security")
TASK_TOPICS = tuple(f"tasks.{department}" for department in TASK_DEPARTMENTS)

DOMAIN_TOPICS = (REGISTRY_EVENTS, SERVICES_EVENTS, ASSESSMENT_EVENTS, NOTIFIER_EVENTS)

# Which service accepts which department fact. A department publishes envelopes of the
# contract's event types (source "dept:<department>") to ingest.<department>; the owner
# validates, deduplicates on event_id and appends. The first service named for a department
# is its gatekeeper: it also rejects, to ingest.rejected, the types no service accepts.
INGEST_ROUTES: dict[str, dict[str, str]] = {
    "health": {"BirthReported": "registry", "ServiceDelivered": "services-log"},
    "public-security": {"ResidencePermitIssued": "registry", "ResidentMoved": "registry", "ResidentDeparted": "registry"},
    "education": {"ChildEnrolled": "registry"},
    "civil-affairs": {"MaritalStatusChanged": "registry"},
    "hr": {"TrainingHeld": "services-log"},
}


def ingest_owner(department: str, event_type: str) -> str | None:
    """The service that accepts ``event_type`` from ``department``, if any."""
    return INGEST_ROUTES.get(department, {}).get(event_type)


def ingest_gatekeeper(department: str) -> str:
    """The service that rejects what no service accepts from ``department``."""
    return next(iter(INGEST_ROUTES[department].values()))


@dataclass(frozen=True)
class Topics:
    """The public topic names, under an optional namespace.

    Production uses no namespace. Tests give each run its own (``"t3f9c."``) so that
    services under test on one broker never see another test's events.
    """

    namespace: str = ""

    def name(self, topic: str) -> str:
        return f"{self.namespace}{topic}"

    @property
    def registry_events(self) -> str:
        return self.name(REGISTRY_EVENTS)

    @property
    def services_events(self) -> str:
        return self.name(SERVICES_EVENTS)

    @property
    def assessment_events(self) -> str:
        return self.name(ASSESSMENT_EVENTS)

    @property
    def notifier_events(self) -> str:
        return self.name(NOTIFIER_EVENTS)

    @property
    def ingest_rejected(self) -> str:
        return self.name(INGEST_REJECTED)

    @property
    def task_topics(self) -> tuple[str, ...]:
        """Made by ``make topics`` and by the registry's dispatcher when it first sends to one;
        not by every service's start (``public``), which would add three topics to every test
        namespace on a shared broker."""
        return tuple(self.name(t) for t in TASK_TOPICS)

    def tasks(self, department: str) -> str:
        if department not in TASK_DEPARTMENTS:
            raise ValueError(f"department: {department!r} is not one of {', '.join(TASK_DEPARTMENTS)}")
        return self.name(f"tasks.{department}")

    def ingest(self, department: str) -> str:
        if department not in DEPARTMENTS:
            raise ValueError(f"department: {department!r} is not one of {', '.join(DEPARTMENTS)}")
        return self.name(f"ingest.{department}")

    @property
    def public(self) -> tuple[str, ...]:
        return tuple(self.name(t) for t in (*DOMAIN_TOPICS, *INGEST_TOPICS, INGEST_REJECTED))


def dead_letter_topic(consumer: str) -> str:
    """Where a consumer parks what it cannot handle, with the reason in the headers."""
    return f"deadletter.{consumer}"
