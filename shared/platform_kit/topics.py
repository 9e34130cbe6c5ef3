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

DOMAIN_TOPICS = (REGISTRY_EVENTS, SERVICES_EVENTS, ASSESSMENT_EVENTS, NOTIFIER_EVENTS)


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
