"""Drive a timeline through the real services: staff commands over HTTP, hospitals' birth
reports on ``ingest.health``, each sent when the system clock reaches the moment the system
learned it (its ``recorded_at``). One person's actions go in order; different people's in
parallel."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from district import Action

from platform_kit.clock import Clock
from platform_kit.envelope import Envelope
from platform_kit.topics import Topics

DEMO = uuid.UUID("6f0a2d3e-2013-4c5d-9e8f-0a1b2c3d4e5f")


def child_id(child_key: str) -> uuid.UUID:
    return uuid.uuid5(DEMO, child_key)


def district_token() -> str:
    """The demo speaks as the district centre, signed with the development key the services
    trust (``MSP_KEY_DIR``, else ``$STACK_DIR/keys``; made on first use), for the whole replay."""
    from platform_kit.auth import AuthSettings, DevKey

    claims = {"sub": "demo-driver", "role": "district", "units": ["370402000000"]}
    return DevKey.load_or_create(AuthSettings().dev_key_dir).mint(claims, ttl_seconds=24 * 3600)


class Driver:
    def __init__(
        self, *, registry: str, services_log: str, producer: AIOKafkaProducer, topics: Topics, clock: Clock,
        concurrency: int = 12,
    ) -> None:
        self.http = httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {district_token()}"})
        self.registry, self.services_log = registry.rstrip("/"), services_log.rstrip("/")
        self.producer, self.topics, self.clock = producer, topics, clock
        self.slots = asyncio.Semaphore(concurrency)
        self.residents: dict[str, str] = {}  # the timeline's person key -> the registry's resident id
        self.units: dict[str, str] = {}  # person key -> where they live now
        self.outcomes: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self._last: dict[str, asyncio.Task[None]] = {}
        self._handlers: dict[str, Callable[[Action], Awaitable[None]]] = {
            "register": self._register, "permit": self._permit, "move": self._move, "depart": self._depart,
            "plan_pregnancy": self._plan, "birth": self._birth, "hospital_birth_report": self._hospital_birth,
            "enrol": self._enrol, "service": self._service, "survey": self._survey, "training": self._training,
            "association_activity": self._association, "sweep": self._sweep,
            "marry": self._marry, "register_again": self._register_again, "verification": self._verification,
            "verification_reply": self._verification_reply, "assign_staff": self._assign_staff,
        }
        self.registrations: dict[str, dict[str, Any]] = {}  # person key -> their first registration's body
        self.requests: dict[str, str] = {}  # person key -> their open incoming 协查

    async def run(self, actions: list[Action], progress: Callable[[int], None] | None = None) -> None:
        for done, action in enumerate(sorted(actions, key=lambda a: (a.recorded_at, a.seq)), start=1):
            wait = (action.recorded_at - self.clock.now()).total_seconds() / max(self.clock.speed, 1)
            if wait > 0:
                await asyncio.sleep(wait)
            key = action.data.get("key") or action.data.get("mother_key") or f"free-{action.seq}"
            previous = self._last.get(key)
            await self.slots.acquire()
            self._last[key] = asyncio.create_task(self._after(previous, action))
            if progress and done % 500 == 0:
                progress(done)
        await asyncio.gather(*self._last.values())
        # Hospital births that no family or community ever reported are 漏报出生: ask the
        # registry to reconcile now rather than at its next hourly round.
        found = await self.http.post(f"{self.registry}/api/reconciliation/hospital-births")
        self.outcomes[f"reconciliation: {found.status_code}"] += 1
        await self.http.aclose()

    async def _after(self, previous: asyncio.Task[None] | None, action: Action) -> None:
        try:
            if previous is not None:
                await previous
            await self._handlers[action.kind](action)
        except httpx.HTTPError as error:
            self.outcomes[f"{action.kind}: {type(error).__name__}"] += 1
        finally:
            self.slots.release()

    async def _post(self, action: Action, url: str, body: dict[str, Any], *, dated: bool = True) -> dict[str, Any] | None:
        if dated:
            body = {**body, "occurred_at": action.occurred_at.isoformat()}
        response = await self.http.post(url, json=body)
        self.outcomes[f"{action.kind}: {response.status_code}"] += 1
        if response.status_code >= 400:
            self.refusals[f"{action.kind} {response.status_code} {_refused_field(response)}"] += 1
            return None
        return response.json()

    def _resident(self, action: Action, key_field: str = "key") -> str | None:
        resident = self.residents.get(action.data[key_field])
        if resident is None:
            self.outcomes[f"{action.kind}: skipped, person never registered"] += 1
        return resident

    # -- the registry --------------------------------------------------------------------
    async def _register(self, action: Action) -> None:
        d = dict(action.data)
        key, mother_key = d.pop("key"), d.pop("mother_key", None)
        if mother_key and mother_key in self.residents:
            d["mother_resident_id"] = self.residents[mother_key]
        answer = await self._post(action, f"{self.registry}/api/residents", d)
        if answer:
            self.residents[key], self.units[key] = answer["resident_id"], d["unit_code"]
            self.registrations[key] = d

    async def _register_again(self, action: Action) -> None:
        """A returner: the same ID number again; the registry gives a new resident id and the
        same person key (person_id), so the assessment counts them once."""
        key = action.data["key"]
        if key not in self.registrations:
            self.outcomes[f"{action.kind}: skipped, person never registered"] += 1
            return
        d = {**self.registrations[key], "unit_code": action.data["unit_code"]}
        answer = await self._post(action, f"{self.registry}/api/residents", d)
        if answer:
            self.residents[key], self.units[key] = answer["resident_id"], d["unit_code"]

    async def _marry(self, action: Action) -> None:
        """A marriage naming the spouse: the couple is one for free contraceptives."""
        resident, spouse = self._resident(action), self._resident(action, "spouse_key")
        if resident and spouse:
            await self._post(action, f"{self.registry}/api/residents/{resident}/marital-status",
                             {"marital_status": "married", "previous": "unmarried", "spouse_resident_id": spouse})

    async def _verification(self, action: Action) -> None:
        """Another place asks the district about a migrant (an incoming 协查, 婚育证明: 7 days)."""
        if resident := self._resident(action):
            d = action.data
            answer = await self._post(action, f"{self.registry}/api/residents/{resident}/verification-requests", {
                "direction": "incoming", "kind": "marriage_childbearing_certificate",
                "counterpart_place": d["counterpart_place"], "subject": "婚育证明", "requested_on": d["requested_on"],
            })
            if answer and answer.get("verification_request_ids"):
                self.requests[d["key"]] = answer["verification_request_ids"][0]

    async def _verification_reply(self, action: Action) -> None:
        if request := self.requests.pop(action.data["key"], None):
            await self._post(action, f"{self.registry}/api/verification-requests/{request}/reply",
                             {"replied_on": action.data["replied_on"], "outcome": "confirmed"}, dated=False)

    async def _permit(self, action: Action) -> None:
        if resident := self._resident(action):
            body = {k: action.data[k] for k in ("permit_ref", "issued_on", "valid_until")}
            await self._post(action, f"{self.registry}/api/residents/{resident}/residence-permits", body)

    async def _move(self, action: Action) -> None:
        if resident := self._resident(action):
            if await self._post(action, f"{self.registry}/api/residents/{resident}/moves", {"to_unit": action.data["to_unit"]}):
                self.units[action.data["key"]] = action.data["to_unit"]

    async def _depart(self, action: Action) -> None:
        if resident := self._resident(action):
            body = {"reason": action.data["reason"], "destination_place": action.data["destination_place"]}
            await self._post(action, f"{self.registry}/api/residents/{resident}/departure", body)

    async def _plan(self, action: Action) -> None:
        if resident := self._resident(action):
            body: dict[str, Any] = {"planned_from": action.data["planned_from"]}
            if partner := action.data.get("partner_key"):
                body["partner_resident_id"] = self.residents.get(partner)
            await self._post(action, f"{self.registry}/api/residents/{resident}/pregnancy-plans", body)

    async def _birth(self, action: Action) -> None:
        if mother := self._resident(action, "mother_key"):
            body = {k: action.data[k] for k in ("birth_date", "sex", "reported_by", "report_ref")}
            if answer := await self._post(action, f"{self.registry}/api/residents/{mother}/births", body):
                self.residents[action.data["child_key"]] = answer.get("child_resident_id", "")

    async def _hospital_birth(self, action: Action) -> None:
        """The hospital (卫生) reports the birth on ingest.health, as a department does."""
        mother = self._resident(action, "mother_key")
        if mother is None:
            return
        child = child_id(action.data["child_key"])
        event = Envelope.new(
            event_type="BirthReported", stream_id=f"hospital-report-{action.data['report_ref']}", stream_version=1,
            unit_code=self.units[action.data["mother_key"]], source="dept:health", occurred_at=action.occurred_at,
            recorded_at=action.recorded_at,
            payload={"mother_resident_id": mother, "child_resident_id": str(child), "birth_date": action.data["birth_date"],
                     "sex": action.data["sex"], "reported_by": "hospital", "report_ref": action.data["report_ref"]},
        )
        await self.producer.send_and_wait(self.topics.ingest("health"), event.to_bytes(), key=event.key)
        self.residents.setdefault(action.data["child_key"], str(child))
        self.outcomes["hospital_birth_report: sent"] += 1

    async def _enrol(self, action: Action) -> None:
        if child := self._resident(action):
            body = {k: action.data[k] for k in ("school_name", "school_year", "grade")}
            await self._post(action, f"{self.registry}/api/residents/{child}/enrolments", body)

    async def _sweep(self, action: Action) -> None:
        await self._post(action, f"{self.registry}/api/sweeps", {"unit_code": action.data["unit_code"], "born_since": "2013-01-01"},
                         dated=False)

    # -- the services log ----------------------------------------------------------------
    async def _service(self, action: Action) -> None:
        if resident := self._resident(action):
            d = action.data
            await self._post(action, f"{self.services_log}/api/services", {
                "service_kind": d["service_kind"], "resident_id": resident, "delivered_by_unit": d["unit_code"],
                "staff_ref": d["staff_ref"], "free_of_charge": True,
            })

    async def _survey(self, action: Action) -> None:
        if resident := self._resident(action):
            d = action.data
            await self._post(action, f"{self.services_log}/api/surveys", {
                "survey_kind": d["survey_kind"], "resident_id": resident, "aware": d["aware"],
                "surveyed_by_unit": self.units.get(d["key"]),
            })

    async def _assign_staff(self, action: Action) -> None:
        d = action.data
        await self._post(action, f"{self.services_log}/api/staff", {
            "staff_ref": d["staff_ref"], "unit_code": d["unit_code"], "role": d["role"], "name": d["name"],
            "assigned_on": d["assigned_on"],
        }, dated=False)

    async def _training(self, action: Action) -> None:
        d = action.data
        await self._post(action, f"{self.services_log}/api/trainings", {
            "held_by_unit": d["unit_code"], "topic": d["topic"], "person_times": d["person_times"],
            "trainee_refs": d.get("trainee_refs", []),
        })

    async def _association(self, action: Action) -> None:
        d = action.data
        await self._post(action, f"{self.services_log}/api/association-activities",
                         {"association_ref": d["association_ref"], "activity": d["activity"], "participants": d["participants"]})


def _refused_field(response: httpx.Response) -> str:
    """The field a refusal names, in either shape the services answer with."""
    try:
        body = response.json()
    except ValueError:
        return "?"
    if isinstance(body.get("errors"), list) and body["errors"]:
        return str(body["errors"][0].get("field"))
    if isinstance(body.get("detail"), list) and body["detail"]:
        return ".".join(str(part) for part in body["detail"][0].get("loc", [])[1:]) or "?"
    return str(body.get("detail", "?"))[:60]
