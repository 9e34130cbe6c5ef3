"""The registry's handlers: load the streams a command is about, decide (``registry.domain``),
and commit the new events through the unit of work.

Entrypoints (HTTP, the department gate's ``accept``) call these methods; an ``Origin`` says who
asks and how the new events are identified.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from typing import Any

import asyncpg

from platform_kit.contract import catalogue
from platform_kit.contract.common import EncryptedPersonalData
from platform_kit.clock import Clock
from platform_kit.event_store import ConcurrencyConflict, EventStore
from platform_kit.logs import get_logger
from platform_kit.problems import Refusal
from platform_kit.units import UnitTree

from registry.adapters.read_model import ReadModel
from registry.adapters.vault import KeyVault, PersonKey
from registry.domain import corrections, decisions, exchange, reconciliation
from registry.domain.commands import (
    ChangeMaritalStatus,
    CorrectRecord,
    DepartResident,
    EnrolChild,
    ErasePersonalData,
    IssueResidencePermit,
    MoveResident,
    PlanPregnancy,
    RegisterResident,
    ReplyToVerification,
    ReportBirth,
    RequestVerification,
    ResidentCommand,
    RunSweep,
)
from registry.domain.decisions import PersonalData
from registry.domain.errors import AlreadyRecorded, unknown_resident, unknown_verification_request
from registry.domain.exchange import Verification, fold_verification, verification_stream
from registry.domain.facts import Context, Fact
from registry.domain.identity import check_name, normalise_id_number
from registry.domain.resident import Resident, fold, resident_stream
from registry.service_layer.unit_of_work import STAFF, Origin, Outcome, UnitOfWork, outcome

log = get_logger(__name__)

# Commands that need nothing but the resident's own history.
SIMPLE_DECISIONS: dict[type[ResidentCommand], Callable[[Resident, Any, Context], list[Fact]]] = {
    MoveResident: decisions.move,
    DepartResident: decisions.depart,
    ChangeMaritalStatus: decisions.change_marital_status,
    IssueResidencePermit: decisions.issue_residence_permit,
    EnrolChild: decisions.enrol_child,
    ErasePersonalData: decisions.erase_personal_data,
    RequestVerification: exchange.request_verification,
}


class Registry:
    def __init__(
        self,
        *,
        store: EventStore,
        vault: KeyVault,
        read_model: ReadModel,
        units: UnitTree,
        clock: Clock,
        birth_match_days: int,
        hospital_birth_grace_days: int,
    ) -> None:
        self.store, self.vault, self.read_model, self.units, self.clock = store, vault, read_model, units, clock
        self.birth_match_days = birth_match_days
        self.hospital_birth_grace_days = hospital_birth_grace_days
        self.uow = UnitOfWork(store, vault, read_model, clock)

    @property
    def pool(self) -> asyncpg.Pool:
        return self.store.pool

    def context(self, origin: Origin) -> Context:
        return Context(now=self.clock(), units=self.units, new_id=origin.new_id, birth_match_days=self.birth_match_days)

    # ---- residents --------------------------------------------------------------------

    async def register(self, cmd: RegisterResident, origin: Origin = STAFF) -> Outcome:
        ctx = self.context(origin)
        personal = decisions.personal_data(cmd, ctx)
        mother = await self._resident_or_none(cmd.mother_resident_id)
        resident_id = origin.new_id()
        key = PersonKey.generate(resident_id)
        facts = decisions.register(cmd, ctx, resident_id=resident_id, sealed=key.seal(personal), mother=mother)
        # Only a person who may be registered is looked for: bad input is 422 before it is 409.
        digest = self.vault.digest(normalise_id_number(personal.id_number)) if personal.id_number else None
        holder, person = await self._departed_holder(digest) if digest else (None, None)
        claim = (digest, resident_id, holder) if digest else None
        if person is not None:
            # A returner gets a new resident id but keeps the person key, so figures count one person.
            first = facts[0]
            facts[0] = replace(first, payload=first.payload.model_copy(update={"person_id": person}))
        events = await self.uow.commit(facts, {}, origin, keys=[key], claim=claim)
        log.info("resident.registered", resident_id=str(resident_id), unit_code=cmd.unit_code, source=origin.source)
        return outcome(resident_stream(resident_id), events, resident_id=resident_id)

    async def _departed_holder(self, digest: bytes) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        """The resident holding this ID number, if they left the district (a returning person
        is registered again), and their person key; refuses a person who still lives here."""
        holder = await self.vault.holder(digest)
        if holder is None:
            return None, None
        existing = await self.resident(holder)
        if existing is not None and existing.living:
            raise AlreadyRecorded("id_number", f"is registered already, as resident {holder}", holder)
        return holder, (existing.person if existing is not None else holder)

    async def decide(self, resident_id: uuid.UUID, cmd: ResidentCommand, origin: Origin = STAFF) -> Outcome:
        """Any command on one resident's stream."""
        if isinstance(cmd, ReportBirth):
            return await self.report_birth(resident_id, cmd, origin)
        resident = await self._load(resident_id, cmd.expected_version)
        ctx = self.context(origin)
        if isinstance(cmd, PlanPregnancy):
            partner = await self._resident_or_none(cmd.partner_resident_id)
            facts = decisions.plan_pregnancy(resident, cmd, ctx, partner=partner)
        elif isinstance(cmd, CorrectRecord):  # names an event of the stream: the decision reads it
            stream = [catalogue.upcast(e) if catalogue.knows(e.event_type) else e for e in await self.store.read_stream(resident.stream_id)]
            personal = await self.personal(resident) if cmd.birth_date or cmd.sex else None
            facts = corrections.correct(resident, stream, cmd, ctx, id_number=personal.id_number if personal else None)
        elif isinstance(cmd, ChangeMaritalStatus) and cmd.spouse_resident_id is not None:
            spouse = await self.resident(cmd.spouse_resident_id)
            facts = decisions.change_marital_status(resident, cmd, ctx, spouse=spouse)
        else:
            facts = SIMPLE_DECISIONS[type(cmd)](resident, cmd, ctx)
        events = await self.uow.commit(facts, {resident.stream_id: resident.version}, origin)
        log.info("resident.changed", resident_id=str(resident_id), command=type(cmd).__name__, source=origin.source)
        return outcome(resident.stream_id, events, resident_id=resident_id)

    async def report_birth(
        self, mother_id: uuid.UUID, cmd: ReportBirth, origin: Origin = STAFF, *, proposed_child_id: uuid.UUID | None = None
    ) -> Outcome:
        """A birth on the mother's stream; the newborn's registration on its own, in one append.
        A department may propose the child's id: it is used when the child is new."""
        mother = await self._load(mother_id, cmd.expected_version)
        child = await self._resident_or_none(cmd.child_resident_id, required="child_resident_id")
        if child is None and proposed_child_id is not None:
            child = await self.resident(proposed_child_id)
        new_child_id = proposed_child_id if proposed_child_id is not None and child is None else origin.new_id()
        key = PersonKey.generate(new_child_id)
        name = check_name(cmd.child_name, "child_name") if cmd.child_name else None
        facts = decisions.report_birth(
            mother, cmd, self.context(origin), new_child_id=new_child_id, sealed_child=key.seal(PersonalData(name)),
            registered_child=child,
        )
        events = await self.uow.commit(facts, {mother.stream_id: mother.version}, origin, keys=[key])
        born = next(e for e in events if e.event_type == "BirthReported")
        child_id = uuid.UUID(str(born.payload["child_resident_id"]))
        log.info("birth.reported", mother_resident_id=str(mother_id), child_resident_id=str(child_id), source=origin.source)
        return outcome(mother.stream_id, events, resident_id=mother_id, child_resident_id=child_id)

    async def resident(self, resident_id: uuid.UUID) -> Resident | None:
        return fold(await self.store.read_stream(resident_stream(resident_id)))

    async def personal(self, resident: Resident) -> PersonalData | None:
        return None if resident.erased else await self.vault.open(resident.resident_id, resident.personal)

    async def names(self, sealed: list[tuple[uuid.UUID, dict[str, Any] | None]]) -> dict[uuid.UUID, str | None]:
        """Names for a listing, one key fetch for the page; none for the erased."""
        keys = await self.vault.keys([resident_id for resident_id, blob in sealed if blob])
        return {
            resident_id: keys[resident_id].open(EncryptedPersonalData.model_validate(blob)).name
            for resident_id, blob in sealed
            if blob and resident_id in keys
        }

    async def find_by_id_number(self, id_number: str) -> uuid.UUID | None:
        return await self.vault.holder(self.vault.digest(normalise_id_number(id_number)))

    async def _load(self, resident_id: uuid.UUID, expected_version: int | None, field: str = "resident_id") -> Resident:
        resident = await self.resident(resident_id)
        if resident is None:
            raise unknown_resident(field, resident_id)
        if expected_version is not None and expected_version != resident.version:
            raise ConcurrencyConflict(resident.stream_id, expected_version, resident.version)
        return resident

    async def _resident_or_none(self, resident_id: uuid.UUID | None, required: str | None = None) -> Resident | None:
        if resident_id is None:
            return None
        resident = await self.resident(resident_id)
        if resident is None and required:
            raise unknown_resident(required, resident_id)
        return resident

    # ---- verification requests (协查) -------------------------------------------------

    async def reply_to_verification(self, request_id: uuid.UUID, cmd: ReplyToVerification, origin: Origin = STAFF) -> Outcome:
        stream = verification_stream(request_id)
        state: Verification | None = fold_verification(await self.store.read_stream(stream))
        if state is None:
            raise unknown_verification_request(request_id)
        if cmd.expected_version is not None and cmd.expected_version != state.version:
            raise ConcurrencyConflict(stream, cmd.expected_version, state.version)
        facts = exchange.reply(state, cmd, self.context(origin))
        events = await self.uow.commit(facts, {stream: state.version}, origin)
        return outcome(stream, events, resident_id=state.request.resident_id)

    # ---- reconciliation (清理清查) ------------------------------------------------------

    async def reconcile_hospital_births(self, origin: Origin = STAFF) -> list[uuid.UUID]:
        """漏报出生: hospital-reported births no family or community report matched in time."""

        async def find() -> list[Fact]:
            births = await self.read_model.hospital_only_births()
            kind = "hospital_report_without_registry_birth"
            found = await self.read_model.found_discrepancies(
                [reconciliation.discrepancy_id(kind, b.child_resident_id) for b in births]
            )
            ctx = self.context(origin)
            return reconciliation.unreported_hospital_births(
                births, today=ctx.today, grace_days=self.hospital_birth_grace_days, already_found=found, now=ctx.now
            )

        return await self._record_findings(find, origin)

    async def sweep(self, cmd: RunSweep, origin: Origin = STAFF) -> list[uuid.UUID]:
        """A sweep of a unit (village, town or the district): children without a birth record."""
        units = self.villages_under(cmd.unit_code, "unit_code")
        ctx = self.context(origin)
        born_since = ctx.not_future(cmd.born_since or date(ctx.today.year, 1, 1), "born_since")

        async def find() -> list[Fact]:
            children = await self.read_model.living_children(units, born_since)
            kind = "child_without_birth_record"
            found = await self.read_model.found_discrepancies(
                [reconciliation.discrepancy_id(kind, c.child_resident_id) for c in children]
            )
            return reconciliation.children_without_birth_record(
                children, born_since=born_since, already_found=found, now=self.clock()
            )

        return await self._record_findings(find, origin)

    async def _record_findings(self, find: Callable[[], Awaitable[list[Fact]]], origin: Origin) -> list[uuid.UUID]:
        # Two replicas (or a sweep and the periodic check) may find the same discrepancy at
        # once: its stream exists then, the append conflicts, and a second look excludes it.
        for attempt in range(3):
            facts = await find()
            try:
                await self.uow.commit(facts, {}, origin)
            except ConcurrencyConflict:
                if attempt == 2:
                    raise
                continue
            ids = [uuid.UUID(str(f.payload.discrepancy_id)) for f in facts]  # type: ignore[attr-defined]
            if ids:
                log.info("reconciliation.found", discrepancies=len(ids))
            return ids
        return []

    def villages_under(self, code: str | None, field: str) -> list[str] | None:
        """The villages and communities of a unit (itself, if it is one); None for the district."""
        if code is None:
            return None
        if code not in self.units:
            raise Refusal(field, f"{code} is not a unit of {self.units.district.name}")
        unit = self.units[code]
        if unit.level == "district":
            return None
        if unit.level == "town":
            return [v.code for v in self.units.villages(code)]
        return [code]
