"""What an event says, in the rules' words, and what the notifier knows about each person.

The notifier keeps a few facts per resident (where they live, sex, birth date, marital
status, population, a declared pregnancy plan): never a name, ID number or phone. Rules
read an event's payload fields by name plus the derived facts below; personal data in a
payload (the registry's sealed ``personal`` blob) is dropped before any rule sees it.

Derived facts: ``event_type``, ``event_id``, ``event_unit`` (the envelope's unit),
``occurred_date``, ``quarter`` (``2013-Q4``), ``quarter_text``, ``resident_id``,
``resident_unit`` (where the person lives after the event), ``left_from`` (the unit or
place they left), ``now_at`` (where they are now, in or outside the district).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from platform_kit.calendar import age_on, local_date
from platform_kit.envelope import Envelope
from platform_kit.logs import PERSONAL_FIELDS

from notifier.domain.business_time import chinese_date, quarter, quarter_text
from notifier.domain.rulebook import Who

RESIDENT_KEYS = ("resident_id", "mother_resident_id")
PRIVATE_KEYS = frozenset({"personal"}) | PERSONAL_FIELDS
CHILDBEARING_AGES = range(15, 50)  # 育龄: 15-49


@dataclass(frozen=True, slots=True)
class Resident:
    resident_id: uuid.UUID
    unit_code: str | None = None  # None once they left the district
    sex: str | None = None
    birth_date: date | None = None
    marital_status: str | None = None
    population: str | None = None
    pregnancy_planned_from: date | None = None

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return None
        return age_on(self.birth_date, day)

    def is_(self, who: Who, on: date) -> bool:
        childbearing = self.age_on(on) in CHILDBEARING_AGES
        married = self.marital_status == "married"
        match who:
            case "anyone":
                return True
            case "migrant":
                return self.population in (None, "migrant")  # unknown: better told once too often
            case "woman_of_childbearing_age":
                return self.sex == "female" and childbearing
            case "married_woman_of_childbearing_age":
                return self.sex == "female" and married and childbearing
            case "married_of_childbearing_age":
                return married and childbearing
            case "planning_pregnancy":
                return self.pregnancy_planned_from is not None


def concerned_resident(event: Envelope) -> uuid.UUID | None:
    for key in RESIDENT_KEYS:
        if value := event.payload.get(key):
            return uuid.UUID(str(value))
    return None


def on_own_stream(event: Envelope) -> bool:
    """Whether the event is on its person's own registry stream (``resident-<id>``): one
    partition, so the notifier reads that person's events in the order they were written."""
    resident_id = concerned_resident(event)
    return resident_id is not None and event.stream_id == f"resident-{resident_id}"


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def next_resident(event: Envelope, before: Resident | None) -> Resident | None:
    """What is known about the event's person once the event has happened."""
    resident_id = concerned_resident(event)
    if resident_id is None:
        return before
    known = before or Resident(resident_id)
    p = event.payload
    match event.event_type:
        case "ResidentRegistered":
            return replace(
                known, unit_code=p["unit_code"], sex=p["sex"], birth_date=_date(p["birth_date"]),
                marital_status=p["marital_status"], population=p["population"],
            )
        case "ResidentMoved":
            return replace(known, unit_code=p["to_unit"])
        case "ResidentDeparted":
            return replace(known, unit_code=None)
        case "MaritalStatusChanged":
            return replace(known, marital_status=p["marital_status"])
        case "PregnancyPlanned":
            return replace(known, pregnancy_planned_from=_date(p["planned_from"]))
        case "BirthReported":
            return replace(known, pregnancy_planned_from=None)
        case "ResidentRecordCorrected":  # what was wrong, made right; the envelope's unit is where they live now
            changed = set(p.get("changed") or ())
            right = {k: p[k] for k in changed & {"sex", "marital_status", "population"}}
            if "birth_date" in changed:
                right["birth_date"] = _date(p["birth_date"])
            return replace(known, **right, unit_code=event.unit_code if known.unit_code is not None else None)
    return before


def event_facts(event: Envelope, after: Resident | None) -> dict[str, Any]:
    """The event's payload (personal data dropped) and the derived facts, by name."""
    payload = {k: v for k, v in event.payload.items() if k not in PRIVATE_KEYS}
    facts: dict[str, Any] = {}
    if after is not None:
        facts |= {
            "sex": after.sex, "marital_status": after.marital_status, "population": after.population,
            "birth_date": after.birth_date.isoformat() if after.birth_date else None,
        }
    facts |= payload
    day = local_date(event.occurred_at)
    resident_id = concerned_resident(event)
    facts |= {
        "event_type": event.event_type,
        "event_id": str(event.event_id),
        "event_unit": event.unit_code,
        "occurred_date": chinese_date(day),
        "quarter": quarter(day),
        "quarter_text": quarter_text(day),
        "resident_id": str(resident_id) if resident_id else None,
        "resident_unit": (after.unit_code if after is not None else None)
        or payload.get("resident_unit")
        or payload.get("delivered_by_unit"),
        "left_from": payload.get("from_unit") or payload.get("arrived_from"),
        "now_at": payload.get("to_unit") or payload.get("destination_place") or (after.unit_code if after else None),
    }
    return facts


DERIVED_FACTS = frozenset(
    {"event_type", "event_id", "event_unit", "occurred_date", "quarter", "quarter_text", "resident_id",
     "resident_unit", "left_from", "now_at", "sex", "marital_status", "population", "birth_date"}
)
