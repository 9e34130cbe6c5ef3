"""The demo's staff commands put to the registry's own decisions, in memory, in the order the
driver sends them (when the system learned each): which ones the registry would refuse, and why.

The integration run (`make run`) reports refusals after the fact; this finds them in a second,
so the demo can be kept to valid commands. It covers the commands whose validity depends on a
person's history (registration, marriage, moves, departure, pregnancy plans, enrolment); births,
services and surveys are not put to it."""

from __future__ import annotations

import sys
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "deploy" / "demo")]

from district import Action  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from registry.domain import decisions  # noqa: E402
from registry.domain.commands import (  # noqa: E402
    ChangeMaritalStatus, DepartResident, EnrolChild, MoveResident, PlanPregnancy, RegisterResident,
)
from registry.domain.facts import Context  # noqa: E402
from registry.domain.resident import Resident, fold, resident_stream  # noqa: E402

from platform_kit.contract.common import EncryptedPersonalData  # noqa: E402
from platform_kit.envelope import Envelope  # noqa: E402
from platform_kit.problems import Refusal  # noqa: E402
from platform_kit.units import unit_tree  # noqa: E402

SEALED = EncryptedPersonalData(key_id=uuid.UUID(int=1), nonce="bm9uY2U=", ciphertext="c2VhbGVk")
DEMO = uuid.UUID("0d6e3f5c-2013-4a1b-9c8d-7e6f5a4b3c2d")


class Registry:
    def __init__(self) -> None:
        self.streams: dict[str, list[Envelope]] = {}
        self.ids: dict[str, uuid.UUID] = {}  # person key -> their current resident id
        self.first: dict[str, dict] = {}  # person key -> their first registration's body
        self.refusals: Counter[str] = Counter()
        self.tree = unit_tree()

    def check(self, actions: list[Action]) -> Counter[str]:
        for action in sorted(actions, key=lambda a: (a.recorded_at, a.seq)):
            handle = getattr(self, f"_{action.kind}", None)
            if handle is None:
                continue
            try:
                handle(action, Context(now=action.recorded_at, units=self.tree))
            except Refusal as refusal:
                self.refusals[f"{action.kind} {refusal.field}: {refusal.reason}"] += 1
        return self.refusals

    def _resident(self, key: str | None) -> Resident | None:
        resident_id = self.ids.get(key) if key else None
        return fold(self.streams[resident_stream(resident_id)]) if resident_id else None

    def _keep(self, facts, now) -> None:
        for f in facts:
            stream = self.streams.setdefault(f.stream_id, [])
            stream.append(Envelope.new(
                event_type=f.event_type, stream_id=f.stream_id, stream_version=len(stream) + 1, unit_code=f.unit_code,
                source="registry", payload=f.payload.model_dump(mode="json"), occurred_at=f.occurred_at, recorded_at=now,
            ))

    def _register_as(self, key: str, body: dict, a: Action, ctx: Context) -> None:
        mother = self._resident(body.pop("mother_key", None))
        cmd = RegisterResident(**body, occurred_at=a.occurred_at, mother_resident_id=mother.resident_id if mother else None)
        decisions.personal_data(cmd, ctx)
        resident_id = uuid.uuid5(DEMO, f"{key}:{a.seq}")
        self._keep(decisions.register(cmd, ctx, resident_id=resident_id, sealed=SEALED, mother=mother), a.recorded_at)
        self.ids[key] = resident_id

    def _register(self, a: Action, ctx: Context) -> None:
        body = dict(a.data)
        key = body.pop("key")
        self.first[key] = dict(body)
        self._register_as(key, body, a, ctx)

    def _register_again(self, a: Action, ctx: Context) -> None:
        key = a.data["key"]
        self._register_as(key, {**self.first[key], "unit_code": a.data["unit_code"]}, a, ctx)

    def _decide(self, a: Action, ctx: Context, decide, command: type[BaseModel], **body) -> None:
        resident = self._resident(a.data["key"])
        if resident is not None:
            self._keep(decide(resident, command(**body, occurred_at=a.occurred_at), ctx), a.recorded_at)

    def _move(self, a: Action, ctx: Context) -> None:
        self._decide(a, ctx, decisions.move, MoveResident, to_unit=a.data["to_unit"])

    def _depart(self, a: Action, ctx: Context) -> None:
        self._decide(a, ctx, decisions.depart, DepartResident, reason=a.data["reason"],
                     destination_place=a.data["destination_place"])

    def _marry(self, a: Action, ctx: Context) -> None:
        spouse = self._resident(a.data["spouse_key"])
        body = {"marital_status": "married", "previous": "unmarried", "spouse_resident_id": spouse.resident_id if spouse else None}
        self._decide(a, ctx, lambda r, cmd, c: decisions.change_marital_status(r, cmd, c, spouse=spouse), ChangeMaritalStatus, **body)

    def _plan_pregnancy(self, a: Action, ctx: Context) -> None:
        partner = self._resident(a.data.get("partner_key"))
        body = {"planned_from": a.data["planned_from"], "partner_resident_id": partner.resident_id if partner else None}
        self._decide(a, ctx, lambda r, cmd, c: decisions.plan_pregnancy(r, cmd, c, partner=partner), PlanPregnancy, **body)

    def _enrol(self, a: Action, ctx: Context) -> None:
        self._decide(a, ctx, decisions.enrol_child, EnrolChild, **{k: a.data[k] for k in ("school_name", "school_year", "grade")})


def refusals(actions: list[Action]) -> Counter[str]:
    return Registry().check(actions)
