"""One unit of work per command: learn what the registry told us of the resident, decide, append
the event (with its outbox row, and its waiting row when the resident is not known yet). The
same path serves staff (HTTP) and departments (ingest); only the origin differs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from platform_kit.calendar import local_date
from platform_kit.contract import catalogue
from platform_kit.database import apply_ddl
from platform_kit.envelope import Envelope, utc_now
from platform_kit.event_store import ConcurrencyConflict, DuplicateEvent, EventStore
from platform_kit.gate import DepartmentFact
from platform_kit.logs import get_logger
from platform_kit.problems import Conflict
from platform_kit.runtime import ServiceRuntime
from platform_kit.sealing import seal
from services_log.adapters import records, roster
from services_log.adapters.facts_reader import FactsReader
from services_log.adapters.registry_view import lock_residents, resident_facts, residents_facts
from services_log.domain.decisions import (
    decide_association_activity,
    decide_correction,
    decide_service,
    decide_survey,
    decide_training,
    resolve_residence,
)
from services_log.domain.commands import (
    AssignStaff,
    RemoveStaff,
    Command,
    CorrectService,
    RecordAssociationActivity,
    RecordService,
    RecordSurvey,
    RecordTraining,
)
from services_log.domain.records import ID_FIELD, AwaitingRecord, NewEvent, stream_id
from services_log.domain.roster import (
    OnRoster,
    decide_assignment,
    decide_removal,
    refused_after_removal,
    staff_stream,
    unknown_staff,
)

log = get_logger(__name__)

VERDICT_FIELDS = frozenset({"residence", "resident_unit"})  # decided by us, not part of what was told


@dataclass(frozen=True, slots=True)
class Origin:
    """Who told us: staff over HTTP, or a department's message (whose id makes ours)."""

    source: str = "services-log"
    event_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None

    @classmethod
    def department(cls, fact: DepartmentFact) -> Origin:
        """The kit's gate derives the event's id from the department's event id: the same
        message, however often delivered, becomes the same event, which the store refuses twice."""
        return cls(
            source=fact.source,
            event_id=fact.event_id(0),
            causation_id=fact.causation_id,
            correlation_id=fact.correlation_id,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    event: Envelope  # the record's first event: the new one, or the one stored before
    status: Literal["recorded", "replayed", "duplicate"]


class Recorder:
    """The services log's unit of work. Built with the service, it is attached to the running
    runtime by the ``setup`` hook (the pool and the store exist only once the runtime starts)."""

    def __init__(self, schema: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.schema = schema
        self.clock = clock
        self.runtime: ServiceRuntime | None = None
        # Looked up when called (not bound here): tests put a slower view in its place.
        self.facts = FactsReader(lambda resident_ids: residents_facts(self.pool, self.schema, resident_ids))

    async def attach(self, runtime: ServiceRuntime) -> None:
        """The ``setup`` hook: the records' own table, before anything records or resolves."""
        self.runtime, self.clock = runtime, runtime.clock
        await apply_ddl(self.pool, self.schema, records.DDL)
        await apply_ddl(self.pool, self.schema, roster.DDL)

    @property
    def pool(self) -> asyncpg.Pool:
        assert self.runtime is not None and self.runtime.pool is not None, "the runtime is not started"
        return self.runtime.pool

    @property
    def store(self) -> EventStore:
        assert self.runtime is not None and self.runtime.store is not None, "the runtime is not started"
        return self.runtime.store

    async def record(self, command: Command, origin: Origin = Origin()) -> Outcome:
        """Record the command's event, or raise Refusal. A retry of a recorded command (same
        id, same content) or a department's repeated message records nothing new.

        A record whose resident the registry has told us of (or that names none) is decided on
        what is committed now and appended alone, so that concurrent records meet in the event
        store's group commit (one transaction, one WAL flush for all of them); held in a
        transaction of its own, each append kept the store's lock to its own commit and they
        went one by one. It writes nothing but the event, so there is nothing to keep in step
        with it. Only a record that must wait for its resident is decided again under the
        resident's lock, with its waiting row in the event's transaction (:meth:`_record_awaiting`)."""
        new = await self._decide(command)  # its own refusals (a phone as staff_ref) first
        if new.awaits_resident is not None:
            return await self._record_awaiting(command, origin)
        await self._staff_on_roster(self.pool, command, origin)
        event = _envelope(new, origin, self.clock())
        try:
            await self.store.append([event])
        except (ConcurrencyConflict, DuplicateEvent) as clash:
            async with self.pool.acquire() as conn:
                return await self._recorded_before(conn, new, event, clash)
        return _appended(event)

    async def _record_awaiting(self, command: Command, origin: Origin) -> Outcome:
        """A record not placed yet: the resident's lock is held from the reading of the view to
        the commit, and the waiting row is written with the event, so the registry view (which
        takes the same lock) either sees the row or is seen by this decision -- and a process
        dying in between leaves both or neither."""
        async with self.pool.acquire() as conn, conn.transaction():
            new = await self._decide(command, locked=conn)
            await self._staff_on_roster(conn, command, origin)
            event = _envelope(new, origin, self.clock())
            try:
                await self.store.append([event], conn=conn)
            except (ConcurrencyConflict, DuplicateEvent) as clash:
                return await self._recorded_before(conn, new, event, clash)
            if new.awaits_resident is not None:  # else the registry told us of them meanwhile
                await records.add_awaiting(conn, self.schema, _awaiting(new, event))
        return _appended(event)

    async def _staff_on_roster(self, conn: asyncpg.Connection | asyncpg.Pool, command: Command, origin: Origin) -> None:
        # The district's own staff are on its roster; a department's (a hospital's doctor) are
        # the department's to know, so only what staff record here is checked.
        staff_ref = getattr(command, "staff_ref", None)
        if origin.source == "services-log" and staff_ref is not None:
            staff = await roster.current(conn, self.schema, staff_ref)
            if staff is None:
                raise unknown_staff()
            # Who has left may not record a service dated on or after the day they left (one
            # dated before it, recorded late, is theirs); a correction is dated when it is made.
            occurred = getattr(command, "occurred_at", None)
            day = local_date(occurred) if occurred is not None else local_date(self.clock())
            if staff.removed_on is not None and day >= staff.removed_on:
                raise refused_after_removal(staff.removed_on)

    async def assign_staff(self, command: AssignStaff) -> Outcome:
        """Put a member of staff on a unit's roster; their name is sealed with their own key in
        the same transaction. The same assignment again records nothing (``replayed``)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{self.schema}.staff.{command.staff_ref}")
            current = await roster.current(conn, self.schema, command.staff_ref)
            key_id, key = await roster.key_for(conn, self.schema, command.staff_ref)
            sealed = seal(key, key_id, command.staff_ref, {"name": command.name})
            new = decide_assignment(command, current, sealed, today=local_date(self.clock()))
            outcome = await self._staff_change(conn, command.staff_ref, current, new, lambda version: OnRoster(
                command.staff_ref, command.unit_code, command.role, command.assigned_on, version))
            if outcome.status == "replayed":
                return outcome
            event = outcome.event
        # Never the name: the ref, the unit and the role say all an operator needs.
        log.info("staff.assigned", staff_ref=command.staff_ref, unit_code=command.unit_code, role=command.role)
        return Outcome(event, "recorded")

    async def _staff_change(self, conn, staff_ref: str, current, new, on_roster: Callable[[int], OnRoster]) -> Outcome:
        """Append a roster decision and keep the roster row in step, or, when the decision is
        that nothing changes (the same command again), answer with the event already stored."""
        if new is None:
            assert current is not None
            stored = await records.event_at(conn, self.schema, staff_stream(staff_ref), current.version)
            assert stored is not None
            return Outcome(stored, "replayed")
        event = _envelope(new, Origin(), self.clock())
        await self.store.append([event], conn=conn)
        await roster.save(conn, self.schema, on_roster(new.stream_version))
        return Outcome(event, "recorded")

    async def remove_staff(self, command: RemoveStaff, may_change: Callable[[str], None] = lambda _unit: None) -> Outcome:
        """Take a member of staff off the roster from ``removed_on``; the same removal again
        records nothing (``replayed``). Their sealed name and key stay: history is kept.
        ``may_change`` raises when the caller may not change the unit they are on (checked in
        the transaction, so a move in between cannot slip a removal past it)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{self.schema}.staff.{command.staff_ref}")
            current = await roster.current(conn, self.schema, command.staff_ref)
            if current is not None:
                may_change(current.unit_code)
            new = decide_removal(command, current, today=local_date(self.clock()))
            assert current is not None
            outcome = await self._staff_change(conn, command.staff_ref, current, new, lambda version: OnRoster(
                current.staff_ref, current.unit_code, current.role, current.assigned_on, version,
                removed_on=command.removed_on))
            if outcome.status == "replayed":
                return outcome
            event = outcome.event
        log.info("staff.removed", staff_ref=command.staff_ref, unit_code=current.unit_code, role=current.role)
        return Outcome(event, "recorded")
    async def correct(self, service_id: uuid.UUID, command: CorrectService) -> Envelope:
        """Append a correction naming the service's event; a concurrent write to the same
        stream is a 409 (ask again: the correction is judged against what is stored now)."""
        stored = await self.store.read_stream(stream_id("ServiceDelivered", service_id))
        event = decide_correction(command, service_id, stored, now=self.clock())
        try:
            await self.store.append([event])
        except ConcurrencyConflict:
            raise Conflict("service_id", f"service {service_id} changed meanwhile; ask again") from None
        log.info("record.corrected", stream_id=event.stream_id, corrects=str(event.payload["corrects"]), unit_code=event.unit_code)
        return event

    async def _decide(self, command: Command, *, locked: asyncpg.Connection | None = None) -> NewEvent:
        """``locked``: a connection in a transaction, to read the resident's facts under their lock
        (held to its end); else they are read with other records' (:class:`FactsReader`)."""
        now = self.clock()
        if isinstance(command, RecordTraining):
            return decide_training(command, training_id=command.training_id or uuid.uuid4(), now=now)
        if isinstance(command, RecordAssociationActivity):
            return decide_association_activity(command, activity_id=command.activity_id or uuid.uuid4(), now=now)
        resident = None
        if command.resident_id is not None:
            if locked is not None:
                await lock_residents(locked, self.schema, [command.resident_id])
                resident = await resident_facts(locked, self.schema, command.resident_id)
            else:
                resident = await self.facts.of(command.resident_id)
        if isinstance(command, RecordService):
            return decide_service(command, resident, service_id=command.service_id or uuid.uuid4(), now=now)
        if isinstance(command, RecordSurvey):
            return decide_survey(command, resident, survey_id=command.survey_id or uuid.uuid4(), now=now)
        raise TypeError(f"no decision for {type(command).__name__}")

    async def _recorded_before(
        self, conn: asyncpg.Connection, new: NewEvent, event: Envelope, clash: Exception
    ) -> Outcome:
        if isinstance(clash, DuplicateEvent):  # this very department message was recorded before
            stored = await records.event_by_id(conn, self.schema, event.event_id)
            assert stored is not None
            return Outcome(stored, "duplicate")
        stored = await records.first_event(conn, self.schema, new.stream_id)
        assert stored is not None
        if stored.event_id == event.event_id:
            return Outcome(stored, "duplicate")
        if _same_record(stored, event):
            return Outcome(stored, "replayed")
        raise Conflict(
            ID_FIELD[new.event_type],
            f"{new.record_id} is already recorded with different content (stream {new.stream_id}); "
            "choose a new id for a new record",
        )

    async def resolve_awaiting(self, conn: asyncpg.Connection, told: dict[uuid.UUID, Envelope]) -> None:
        """The registry told us of these residents (in the view's transaction): place the records
        that were waiting for them, each with a ResidenceResolved on its own stream."""
        waiting = await records.awaiting_for(conn, self.schema, list(told))
        resolved: list[Envelope] = []
        for record in waiting:
            resident = await resident_facts(conn, self.schema, record.resident_id)
            if resident is None:
                continue  # told only of, say, a marital status: still not placed anywhere
            cause = told[record.resident_id]
            origin = Origin(causation_id=cause.event_id, correlation_id=record.correlation_id)
            resolved.append(_envelope(resolve_residence(record, resident), origin, self.clock()))
        if resolved:
            await self.store.append(resolved, conn=conn)
            await records.remove_awaiting(conn, self.schema, [event.stream_id for event in resolved])
            log.info("records.resolved", count=len(resolved))


def _appended(event: Envelope) -> Outcome:
    log.info(
        "record.appended",
        event_type=event.event_type,
        stream_id=event.stream_id,
        unit_code=event.unit_code,
        source=event.source,
        residence=event.payload.get("residence"),
    )
    return Outcome(event, "recorded")


def _envelope(new: NewEvent, origin: Origin, now: datetime) -> Envelope:
    return Envelope.new(
        event_type=new.event_type,
        schema_version=catalogue.current_version(new.event_type),
        stream_id=new.stream_id,
        stream_version=new.stream_version,
        unit_code=new.unit_code,
        source=origin.source,
        payload=new.payload.model_dump(mode="json"),
        occurred_at=new.occurred_at,
        recorded_at=now,
        event_id=origin.event_id,
        causation_id=origin.causation_id,
        correlation_id=origin.correlation_id,
    )


def _awaiting(new: NewEvent, event: Envelope) -> AwaitingRecord:
    assert new.awaits_resident is not None
    return AwaitingRecord(
        record_type=new.event_type,
        record_id=new.record_id,
        stream_id=new.stream_id,
        stream_version=new.stream_version,
        resident_id=new.awaits_resident,
        unit_code=new.unit_code,
        occurred_at=new.occurred_at,
        recorded_at=event.recorded_at,
        correlation_id=event.correlation_id,
    )


def _same_record(stored: Envelope, new: Envelope) -> bool:
    """The same record told twice, whatever our verdict on the residence was then and now."""

    def told(event: Envelope) -> tuple:
        payload = {k: v for k, v in event.payload.items() if k not in VERDICT_FIELDS}
        return event.event_type, event.unit_code, event.occurred_at, payload

    return told(stored) == told(new)
