"""清理清查: reconciling the sources of births, and sweeping units for children without a record.

"居不漏楼，楼不漏户，户不漏人，人不漏档": a birth the hospital reported that neither the family
nor the community reported within the grace period is 漏报出生, and so is a child found living
in a unit with no birth record at all. Each finding has a deterministic id (one per kind and
child), so running a check again, or on two replicas at once, never finds it twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from platform_kit.contract.registry import BirthDiscrepancyFound

from registry.domain.facts import Fact

_NAMESPACE = uuid.UUID("5b0c7f0e-3f1a-4b8e-9d55-6a6f2d1c0e01")
REGISTRY_REPORTERS = frozenset({"family", "community"})


def discrepancy_id(kind: str, child_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{kind}:{child_id}")


def discrepancy_stream(found: uuid.UUID) -> str:
    return f"discrepancy-{found}"


@dataclass(frozen=True, slots=True)
class ReportedBirth:
    """A child and every report of its birth so far."""

    mother_resident_id: uuid.UUID
    child_resident_id: uuid.UUID
    birth_date: date
    reported_by: frozenset[str]
    hospital_ref: str | None
    unit_code: str


@dataclass(frozen=True, slots=True)
class LivingChild:
    child_resident_id: uuid.UUID
    mother_resident_id: uuid.UUID | None
    birth_date: date
    unit_code: str
    has_birth_record: bool


def unreported_hospital_births(
    births: list[ReportedBirth], *, today: date, grace_days: int, already_found: set[uuid.UUID], now: datetime
) -> list[Fact]:
    """Hospital-reported births that no family or community report matched within the grace period."""
    kind = "hospital_report_without_registry_birth"
    facts = []
    for birth in births:
        found = discrepancy_id(kind, birth.child_resident_id)
        overdue = birth.birth_date + timedelta(days=grace_days) < today
        if "hospital" not in birth.reported_by or birth.reported_by & REGISTRY_REPORTERS or not overdue or found in already_found:
            continue
        detail = (
            f"漏报出生: the hospital reported a birth on {birth.birth_date.isoformat()} (ref {birth.hospital_ref}); "
            f"no family or community report within {grace_days} days"
        )
        payload = BirthDiscrepancyFound(
            discrepancy_id=found, kind=kind, mother_resident_id=birth.mother_resident_id,
            child_resident_id=birth.child_resident_id, birth_date=birth.birth_date, found_by="reconciliation", detail=detail,
        )
        facts.append(Fact(discrepancy_stream(found), payload, now, birth.unit_code))
    return facts


def children_without_birth_record(
    children: list[LivingChild], *, born_since: date, already_found: set[uuid.UUID], now: datetime
) -> list[Fact]:
    """Children born since ``born_since``, living in the swept units, that no birth report names."""
    kind = "child_without_birth_record"
    facts = []
    for child in children:
        found = discrepancy_id(kind, child.child_resident_id)
        if child.has_birth_record or child.birth_date < born_since or found in already_found:
            continue
        payload = BirthDiscrepancyFound(
            discrepancy_id=found, kind=kind, mother_resident_id=child.mother_resident_id,
            child_resident_id=child.child_resident_id, birth_date=child.birth_date, found_by="sweep",
            detail=f"清理清查: a child born on {child.birth_date.isoformat()} lives in {child.unit_code} without a birth record",
        )
        facts.append(Fact(discrepancy_stream(found), payload, now, child.unit_code))
    return facts
