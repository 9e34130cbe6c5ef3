"""The demo year's actions as the events the registry and the services log would record for
them, without running either: what the assessment's pure domain code needs to compute the
year's figures in a test of a second or two.

It assumes every action is accepted (the driver reports refusals; the integration run is where
those show) and mirrors the two registry decisions the figures depend on: a sweep finds the
children born this year, living in the swept unit, that no birth report names (漏报出生), and
a reply to an incoming 协查 is late by the days past its due date.
"""

from __future__ import annotations

import sys
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "deploy" / "demo"), str(ROOT / "services" / "assessment" / "tests")]

from assessment_testing import NAMESPACE, History  # noqa: E402
from district import Action  # noqa: E402

from platform_kit.envelope import Envelope  # noqa: E402


class Translation:
    def __init__(self) -> None:
        self.h = History(salt="demo")
        self.current: dict[str, str] = {}  # person key -> the name of their current identity
        self.registered: dict[str, dict] = {}
        self.returns: dict[str, int] = {}
        self.reported: set[str] = set()  # children a birth report names
        self.requests: dict[str, tuple[uuid.UUID, str, date]] = {}  # person key -> open incoming 协查

    def events(self, actions: list[Action]) -> list[Envelope]:
        for action in sorted(actions, key=lambda a: (a.occurred_at, a.seq)):
            getattr(self, f"_{action.kind}", lambda a: None)(action)
        return self.h.events

    def _name(self, key: str) -> str:
        return self.current.get(key, key)

    def _register(self, a: Action) -> None:
        d = a.data
        self.registered[d["key"]] = d
        self.current[d["key"]] = d["key"]
        self.h.registered(d["key"], unit=d["unit_code"], at=a.occurred_at, recorded=a.recorded_at, sex=d["sex"],
                          born=d["birth_date"], marital=d["marital_status"], population=d["population"])

    def _register_again(self, a: Action) -> None:
        key, first = a.data["key"], self.registered[a.data["key"]]
        self.returns[key] = self.returns.get(key, 0) + 1
        name = f"{key}#return{self.returns[key]}"
        self.current[key] = name
        self.h.registered(name, unit=a.data["unit_code"], at=a.occurred_at, recorded=a.recorded_at, sex=first["sex"],
                          born=first["birth_date"], marital=first["marital_status"], population=first["population"],
                          returning=key)

    def _move(self, a: Action) -> None:
        self.h.moved(self._name(a.data["key"]), to=a.data["to_unit"], at=a.occurred_at, recorded=a.recorded_at)

    def _depart(self, a: Action) -> None:
        self.h.departed(self._name(a.data["key"]), at=a.occurred_at, recorded=a.recorded_at)

    def _marry(self, a: Action) -> None:
        self.h.marital(self._name(a.data["key"]), "married", previous="unmarried", at=a.occurred_at,
                       recorded=a.recorded_at, spouse=self._name(a.data["spouse_key"]))

    def _plan_pregnancy(self, a: Action) -> None:
        partner = a.data.get("partner_key")
        self.h.planned(self._name(a.data["key"]), partner=self._name(partner) if partner else None, at=a.occurred_at,
                       recorded=a.recorded_at)

    def _hospital_birth_report(self, a: Action) -> None:
        d = a.data
        self.reported.add(d["child_key"])
        self.h.birth(self._name(d["mother_key"]), child=d["child_key"], at=a.occurred_at, recorded=a.recorded_at,
                     sex=d["sex"])

    def _enrol(self, a: Action) -> None:
        self.h.enrolled(self._name(a.data["key"]), at=a.occurred_at, recorded=a.recorded_at, grade=a.data["grade"])

    def _service(self, a: Action) -> None:
        d = a.data
        self.h.served(self._name(d["key"]), d["service_kind"], by=d["unit_code"], at=a.occurred_at, recorded=a.recorded_at)

    def _survey(self, a: Action) -> None:
        d = a.data
        self.h.surveyed(self._name(d["key"]), d["survey_kind"], aware=d["aware"], at=a.occurred_at, recorded=a.recorded_at)

    def _sweep(self, a: Action) -> None:
        unit = a.data["unit_code"]
        for key, d in self.registered.items():
            unreported = d.get("mother_key") and d["birth_date"] >= "2013-01-01" and key not in self.reported
            if unreported and self.h.lives_in.get(key) == unit:
                self.reported.add(key)  # found once
                self.h.discrepancy(unit=unit, at=a.occurred_at, recorded=a.recorded_at, mother=self._name(d["mother_key"]))

    def _verification(self, a: Action) -> None:
        key, name = a.data["key"], self._name(a.data["key"])
        request_id = uuid.uuid5(NAMESPACE, f"verification:{a.seq}")
        requested_on = date.fromisoformat(a.data["requested_on"])
        unit = self.h.lives_in[name]
        self.requests[key] = (request_id, unit, requested_on)
        self.h._add("VerificationRequested", f"verification-{request_id}", unit, "registry", a.occurred_at, a.recorded_at, {
            "request_id": str(request_id), "resident_id": str(_pid(name)), "direction": "incoming",
            "kind": "marriage_childbearing_certificate", "counterpart_place": a.data["counterpart_place"],
            "subject": "婚育证明", "requested_on": a.data["requested_on"], "due_on": _plus(requested_on, 7).isoformat(),  # 婚育证明: 7 days
            "raised_by": "staff",
        })

    def _verification_reply(self, a: Action) -> None:
        request_id, unit, _ = self.requests.pop(a.data["key"])
        replied, due = date.fromisoformat(a.data["replied_on"]), date.fromisoformat(a.data["due_on"])
        self.h._add("VerificationReplied", f"verification-{request_id}", unit, "registry", a.occurred_at, a.recorded_at, {
            "request_id": str(request_id), "resident_id": str(_pid(self._name(a.data["key"]))),
            "replied_on": a.data["replied_on"], "outcome": "confirmed", "note": "", "days_late": max(0, (replied - due).days),
        })


def _pid(name: str) -> uuid.UUID:
    from assessment_testing import person_id

    return person_id(name)


def _plus(day: date, days: int) -> date:
    return date.fromordinal(day.toordinal() + days)


def demo_events(actions: list[Action]) -> list[Envelope]:
    return Translation().events(actions)

