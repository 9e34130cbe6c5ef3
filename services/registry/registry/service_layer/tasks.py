"""Tasks back to departments: the sweep that issues them, the closing of a task when the fact
that answers it is recorded, and the dispatcher that carries both to ``tasks.<department>``.

Each task is a stream (``task-<task_id>``) in the registry's store: issued, then closed. The
event and its row in ``task_outbox`` are written in one transaction, so nothing is sent that
was not committed; the dispatcher sends and only then deletes the row (at least once: a
department deduplicates on ``event_id``)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import asyncpg
from aiokafka import AIOKafkaProducer

from platform_kit.calendar import local_date
from platform_kit.clock import Clock
from platform_kit.contract.common import EncryptedPersonalData
from platform_kit.contract.registry import DepartmentTaskClosed, DepartmentTaskIssued
from platform_kit.envelope import Envelope
from platform_kit.event_store import ConcurrencyConflict, EventStore
from platform_kit.kafka import ensure_topics
from platform_kit.logs import get_logger
from platform_kit.sealing import department_key, seal
from platform_kit.topics import Topics
from registry.adapters import tasks as sql
from registry.adapters.vault import KeyVault
from registry.domain import tasks as rules

log = get_logger(__name__)


class DepartmentTasks:
    def __init__(
        self, *, store: EventStore, vault: KeyVault, schema: str, clock: Clock, secret: bytes,
        due_days: int, permit_notice_days: int,
    ) -> None:
        self.store, self.vault, self.schema, self.clock = store, vault, schema, clock
        self.secret, self.due_days, self.permit_notice_days = secret, due_days, permit_notice_days

    @property
    def pool(self) -> asyncpg.Pool:
        return self.store.pool

    # ---- issuing ----------------------------------------------------------------------

    async def sweep(self, on: date | None = None) -> list[rules.Task]:
        """Issue every task due on ``on`` (today by the clock) that was not issued before."""
        on = on or local_date(self.clock())
        candidates: list[tuple[rules.Task, dict | None]] = []
        children = await sql.living_migrants(self.pool, self.schema, *_window(16, 5, on), women_married=False)
        enrolled = await sql.enrolled(self.pool, self.schema, rules.school_year_of(on))
        sealed_of = {p.resident_id: personal for p, personal in children}
        candidates += [(t, sealed_of[t.resident_id]) for t in rules.enrolment_tasks([p for p, _ in children], enrolled, on, self.due_days)]
        women = await sql.living_migrants(self.pool, self.schema, *_window(50, 15, on), women_married=True)
        checked = await sql.checked(self.pool, self.schema, rules.quarter_of(on))
        sealed_of = {p.resident_id: personal for p, personal in women}
        candidates += [(t, sealed_of[t.resident_id]) for t in rules.check_tasks([p for p, _ in women], checked, on)]
        permits = await sql.latest_permits(self.pool, self.schema)
        sealed_of = {p.resident_id: personal for p, personal in permits}
        candidates += [(t, sealed_of[t.resident_id]) for t in rules.permit_tasks([p for p, _ in permits], on, self.permit_notice_days)]

        known = await sql.known_task_ids(self.pool, self.schema, [t.task_id for t, _ in candidates])
        issued = []
        for task, sealed in candidates:
            if task.task_id in known or sealed is None:
                continue
            if await self._issue(task, sealed):
                issued.append(task)
        if issued:
            log.info("tasks.issued", count=len(issued), on=on.isoformat())
        return issued

    async def _issue(self, task: rules.Task, sealed: dict) -> bool:
        person = await self.vault.open(task.resident_id, EncryptedPersonalData.model_validate(sealed))
        if person is None:
            return False  # erased meanwhile: nothing left to send, nothing to ask
        key_id, key = department_key(self.secret, task.department)
        needed = {field: getattr(person, field) for field in rules.NEEDS[task.kind]}
        payload = DepartmentTaskIssued(
            task_id=task.task_id, department=task.department, kind=task.kind, resident_id=task.resident_id,  # type: ignore[arg-type]
            unit_code=task.unit_code, period=task.period, due_on=task.due_on, reply_with=rules.REPLY_WITH[task.kind],
            personal=seal(key, key_id, str(task.task_id), needed),
        )
        event = Envelope.new(
            event_type="DepartmentTaskIssued", stream_id=f"task-{task.task_id}", stream_version=1,
            unit_code=task.unit_code, source="registry", payload=payload.model_dump(mode="json"),
            occurred_at=self.clock(), recorded_at=self.clock(),
        )
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await self.store.append([event], conn=conn)
                await sql.add_task(conn, self.schema, task, event)
        except ConcurrencyConflict:
            return False  # another sweep issued it a moment ago
        return True

    # ---- closing (in the projection's transaction) -----------------------------------

    async def close(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
        for event in events:
            for closing in rules.closings(event.event_type, event.payload, local_date(event.occurred_at)):
                for row in await sql.open_tasks_closed_by(conn, self.schema, closing):
                    await self._close(conn, row, closing.outcome, event)

    async def _close(self, conn: asyncpg.Connection, row: asyncpg.Record, outcome: str, cause: Envelope) -> None:
        payload = DepartmentTaskClosed(
            task_id=row["task_id"], department=row["department"], kind=row["kind"], resident_id=row["resident_id"],
            outcome=outcome, closed_by_event_id=cause.event_id,  # type: ignore[arg-type]
        )
        event = Envelope.new(
            event_type="DepartmentTaskClosed", stream_id=f"task-{row['task_id']}", stream_version=2,
            unit_code=row["unit_code"], source="registry", payload=payload.model_dump(mode="json"),
            occurred_at=cause.occurred_at, recorded_at=self.clock(),
            event_id=uuid.uuid5(row["task_id"], str(cause.event_id)),
            causation_id=cause.event_id, correlation_id=cause.correlation_id,
        )
        await self.store.append([event], conn=conn)
        await sql.mark_closed(conn, self.schema, row["task_id"], event, outcome)
        await sql.to_outbox(conn, self.schema, row["department"], event)

    # ---- dispatching ------------------------------------------------------------------

    async def dispatch(self, stop: asyncio.Event, producer: AIOKafkaProducer, topics: Topics, bootstrap: str, poll: float) -> None:
        """Carry the task outbox to ``tasks.<department>``, oldest first, one dispatcher at a time.
        A department's topic is made when it is first sent something, not before."""
        made: set[str] = set()

        async def ensure(departments: set[str]) -> None:
            if departments - made:
                await ensure_topics(bootstrap, [topics.tasks(d) for d in departments - made])
                made.update(departments)

        while not stop.is_set():
            sent = await self._dispatch_batch(producer, topics, ensure)
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll)

    async def _dispatch_batch(self, producer: AIOKafkaProducer, topics: Topics, ensure) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", f"{self.schema}.task_outbox"):
                return 0
            rows = await conn.fetch(f"SELECT position, department, stream_id, message FROM {self.schema}.task_outbox ORDER BY position LIMIT 500")
            by_department: dict[str, list[asyncpg.Record]] = defaultdict(list)
            for row in rows:
                by_department[row["department"]].append(row)
            await ensure(set(by_department))
            acks = [
                await producer.send(topics.tasks(department), row["message"].encode(), key=row["stream_id"].encode())
                for department, batch in by_department.items() for row in batch
            ]
            await asyncio.gather(*acks)
            await conn.execute(f"DELETE FROM {self.schema}.task_outbox WHERE position = ANY($1::bigint[])", [r["position"] for r in rows])
            return len(rows)


def _window(oldest: int, youngest: int, on: date) -> tuple[date, date]:
    return sql.born_window(oldest, youngest, on)
