"""Topic names: part of the public contract (see docs/contract)."""

from __future__ import annotations

REGISTRY_EVENTS = "registry.events"
SERVICES_EVENTS = "services.events"
ASSESSMENT_EVENTS = "assessment.events"
NOTIFIER_EVENTS = "notifier.events"
INGEST_REJECTED = "ingest.rejected"

DEPARTMENTS = ("health", "public-security", "education", "civil-affairs", "hr")
INGEST_TOPICS = tuple(f"ingest.{department}" for department in DEPARTMENTS)

DOMAIN_TOPICS = (REGISTRY_EVENTS, SERVICES_EVENTS, ASSESSMENT_EVENTS, NOTIFIER_EVENTS)


def dead_letter_topic(consumer: str) -> str:
    """Where a consumer parks what it cannot handle, with the reason in the headers."""
    return f"deadletter.{consumer}"
