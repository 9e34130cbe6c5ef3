"""Histories written in the domain's words, for tests, the demo and the bench:

    h = History()
    h.registered("li", unit=VILLAGE, at="2013-04-01", born="1985-06-01")
    h.moved("li", to=OTHER_VILLAGE, at="2013-05-10")
    h.served("li", "pregnancy_check", by=OTHER_VILLAGE, at="2013-05-20")

People are named; their ids are stable (uuid5 of the name). Every event is a valid contract
envelope; ``recorded`` (default: an hour after it occurred) is the second clock.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from platform_kit.calendar import DISTRICT_TZ
from platform_kit.envelope import Envelope

NAMESPACE = uuid.UUID("4d1c3a52-6f0e-4b8e-9a61-3f2a7b5c9e10")
PERSONAL = {
    "key_id": "9d2e1f3a-4b5c-4d6e-8f7a-1b2c3d4e5f60",
    "nonce": "q1k2ZmFrZW5vbmNl",
    "ciphertext": "3q2+7wAAAAAsealedZW5jcnlwdGVkIHBlcnNvbmFsIGRhdGE=",
}
When = str | datetime


def person_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"person:{name}")


def _id(kind: str, salt: str, n: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{kind}:{salt}{n}")


def instant(when: When) -> datetime:
    """A date means 09:00 that day, China Standard Time (the office is open)."""
    if isinstance(when, datetime):
        return when
    if len(when) == 10:
        return datetime.combine(date.fromisoformat(when), datetime.min.time(), tzinfo=DISTRICT_TZ) + timedelta(hours=9)
    parsed = datetime.fromisoformat(when)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=DISTRICT_TZ)


class History:
    def __init__(self, salt: str = "") -> None:
        """``salt`` keeps the ids of two histories apart (services, surveys, findings; name
        people apart yourself)."""
        self.salt = salt
        self.events: list[Envelope] = []
        self.versions: dict[str, int] = {}
        self.lives_in: dict[str, str] = {}
        self._count = 0

    def _add(
        self, event_type: str, stream_id: str, unit_code: str, source: str, at: When, recorded: When | None,
        payload: dict,
    ) -> Envelope:
        self.versions[stream_id] = self.versions.get(stream_id, 0) + 1
        occurred = instant(at)
        self._count += 1
        event = Envelope.new(
            event_type=event_type, stream_id=stream_id, stream_version=self.versions[stream_id],
            unit_code=unit_code, source=source, payload=payload, occurred_at=occurred,
            recorded_at=instant(recorded) if recorded else occurred + timedelta(hours=1),
            event_id=uuid.uuid5(NAMESPACE, f"event:{self.salt}{stream_id}:{self.versions[stream_id]}:{self._count}"),
        )
        self.events.append(event)
        return event

    def _resident(self, name: str, event_type: str, unit: str, at: When, recorded: When | None, **payload) -> Envelope:
        rid = person_id(name)
        return self._add(event_type, f"resident-{rid}", unit, "registry", at, recorded, {"resident_id": str(rid), **payload})

    # -- the registry ------------------------------------------------------------------------

    def registered(
        self, name: str, *, unit: str, at: When, sex: str = "female", born: str = "1985-06-01",
        marital: str = "married", population: str = "migrant", recorded: When | None = None,
        returning: str | None = None,
    ) -> Envelope:
        """``returning``: the name this person was first registered under (they left and came
        back, and the registry gave them a new resident id but the same person key)."""
        self.lives_in[name] = unit
        extra = {"person_id": str(person_id(returning))} if returning else {}
        return self._resident(
            name, "ResidentRegistered", unit, at, recorded, sex=sex, birth_date=born, marital_status=marital,
            population=population, household_registration_place="371322", unit_code=unit, arrived_from="371322",
            personal=PERSONAL, **extra,
        )

    def moved(self, name: str, *, to: str, at: When, recorded: When | None = None) -> Envelope:
        source, self.lives_in[name] = self.lives_in[name], to
        return self._resident(name, "ResidentMoved", to, at, recorded, from_unit=source, to_unit=to)

    def departed(self, name: str, *, at: When, recorded: When | None = None) -> Envelope:
        source = self.lives_in.pop(name)
        return self._resident(
            name, "ResidentDeparted", source, at, recorded, from_unit=source, destination_place="371322",
            reason="返回户籍地",
        )

    def marital(
        self, name: str, status: str, *, previous: str, at: When, recorded: When | None = None, spouse: str | None = None,
    ) -> Envelope:
        extra = {"spouse_resident_id": str(person_id(spouse))} if spouse else {}
        return self._resident(
            name, "MaritalStatusChanged", self.lives_in.get(name, "370402000000"), at, recorded,
            previous=previous, marital_status=status, **extra,
        )

    def planned(self, name: str, *, partner: str | None, at: When, recorded: When | None = None) -> Envelope:
        return self._resident(
            name, "PregnancyPlanned", self.lives_in.get(name, "370402000000"), at, recorded,
            partner_resident_id=str(person_id(partner)) if partner else None,
            planned_from=instant(at).date().isoformat(),
        )

    def corrected(
        self, event: Envelope, *, recorded: When, happened: When | None = None, withdrawn: bool = False,
        reason: str = "清理清查中核实，录入错误", **right,
    ) -> Envelope:
        """A registry correction (ResidentRecordCorrected) of ``event``: ``right`` the fields that
        were wrong (contract names), ``happened`` the right day; the rest restated from ``event``."""
        fields = {"ResidentRegistered": ("unit_code", "sex", "birth_date", "marital_status", "population"),
                  "ResidentMoved": ("from_unit", "to_unit"), "MaritalStatusChanged": ("marital_status",)}[event.event_type]
        when = instant(happened) if happened else event.occurred_at
        version = {} if withdrawn else {name: right.get(name, event.payload[name]) for name in fields}
        changed = [] if withdrawn else [n for n in fields if n in right] + (["happened_at"] if happened else [])
        unit = version.get("to_unit") or version.get("unit_code") or event.payload.get("from_unit") or event.unit_code
        return self._add(
            "ResidentRecordCorrected", event.stream_id, unit, "registry", min(when, event.occurred_at), recorded,
            {"resident_id": event.payload["resident_id"], "corrects": str(event.event_id), "corrected_type": event.event_type,
             "reason": reason, "withdrawn": withdrawn, "changed": changed,
             "happened_at": None if withdrawn else when.isoformat(), **version},
        )

    def birth(
        self, mother: str, *, child: str, at: When, unit: str | None = None, sex: str = "male",
        recorded: When | None = None, reported_by: str = "hospital",
    ) -> Envelope:
        mid = person_id(mother)
        return self._add(
            "BirthReported", f"resident-{mid}", unit or self.lives_in.get(mother, "370402000000"), "registry", at,
            recorded,
            {
                "mother_resident_id": str(mid), "child_resident_id": str(person_id(child)),
                "birth_date": instant(at).date().isoformat(), "sex": sex, "reported_by": reported_by,
                "report_ref": f"出生医学证明-{self._count:06d}",
            },
        )

    def enrolled(self, child: str, *, at: When, school: str = "市中区实验小学", grade: int = 1, recorded: When | None = None) -> Envelope:
        cid = person_id(child)
        return self._add(
            "ChildEnrolled", f"resident-{cid}", self.lives_in.get(child, "370402000000"), "registry", at, recorded,
            {"child_resident_id": str(cid), "school_name": school, "school_year": instant(at).year, "grade": grade},
        )

    def discrepancy(self, *, unit: str, at: When, mother: str | None = None, recorded: When | None = None) -> Envelope:
        return self._add(
            "BirthDiscrepancyFound", f"reconciliation-{unit}{self.salt}", unit, "registry", at, recorded,
            {
                "discrepancy_id": str(_id("discrepancy", self.salt, self._count)),
                "kind": "child_without_birth_record",
                "mother_resident_id": str(person_id(mother)) if mother else None,
                "child_resident_id": None, "birth_date": None, "found_by": "sweep",
                "detail": "清理清查：户不漏人，人不漏档",
            },
        )

    # -- the services log ------------------------------------------------------------------------

    def served(
        self, name: str, kind: str, *, by: str, at: When, free: bool = True, recorded: When | None = None
    ) -> Envelope:
        service_id = _id("service", self.salt, self._count)
        return self._add(
            "ServiceDelivered", f"service-{service_id}", by, "services-log", at, recorded,
            {
                "service_id": str(service_id), "service_kind": kind, "six_ones_item": None, "certificate_mode": None,
                "resident_id": str(person_id(name)), "household_ref": None, "delivered_by_unit": by,
                "staff_ref": "staff-001", "free_of_charge": free, "cross_unit_reason": None,
            },
        )

    def surveyed(self, name: str, kind: str, *, aware: bool, at: When, recorded: When | None = None) -> Envelope:
        survey_id = _id("survey", self.salt, self._count)
        unit = self.lives_in.get(name, "370402000000")
        return self._add(
            "SurveyRecorded", f"survey-{survey_id}", unit, "services-log", at, recorded,
            {"survey_id": str(survey_id), "survey_kind": kind, "resident_id": str(person_id(name)), "aware": aware},
        )
