"""SQL of the department tasks: the tasks and their state (write-side, kept in the same
transaction as their events, never reset by a rebuild), the task outbox (what still has to
reach ``tasks.<department>``), the pregnancy checks seen on ``services.events`` (a read model),
and who a sweep must consider."""

from __future__ import annotations

import json
import uuid
from datetime import date

import asyncpg

from platform_kit.envelope import Envelope
from registry.domain.tasks import Closing, Permit, Person, Task

DDL = """
CREATE TABLE IF NOT EXISTS {schema}.department_tasks (
    task_id     uuid PRIMARY KEY,
    department  text NOT NULL,
    kind        text NOT NULL,
    resident_id uuid NOT NULL,
    unit_code   text NOT NULL,
    period      text NOT NULL,
    due_on      date NOT NULL,
    issued_at   timestamptz NOT NULL,
    closed_at   timestamptz,
    outcome     text
);
CREATE INDEX IF NOT EXISTS department_tasks_open ON {schema}.department_tasks (resident_id) WHERE closed_at IS NULL;
CREATE TABLE IF NOT EXISTS {schema}.task_outbox (
    position   bigserial PRIMARY KEY,
    department text NOT NULL,
    stream_id  text NOT NULL,
    message    text NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.pregnancy_checks (
    resident_id uuid NOT NULL,
    quarter     text NOT NULL,
    PRIMARY KEY (resident_id, quarter)
);
"""
_TASK_COLUMNS = "task_id, department, kind, resident_id, unit_code, period, due_on, issued_at, closed_at, outcome"


async def living_migrants(
    pool: asyncpg.Pool, schema: str, born_after: date, born_by: date, *, women_married: bool
) -> list[tuple[Person, dict | None]]:
    extra = " AND sex = 'female' AND marital_status = 'married'" if women_married else ""
    rows = await pool.fetch(
        f"SELECT resident_id, unit_code, birth_date, personal FROM {schema}.residents "
        f"WHERE status <> 'departed' AND NOT erased AND population = 'migrant' AND birth_date > $1 AND birth_date <= $2{extra}",
        born_after, born_by,
    )
    return [(Person(r["resident_id"], r["unit_code"], r["birth_date"]), _json(r["personal"])) for r in rows]


async def enrolled(pool: asyncpg.Pool, schema: str, school_year: int) -> set[uuid.UUID]:
    rows = await pool.fetch(
        f"SELECT DISTINCT payload->>'child_resident_id' AS child FROM {schema}.events "
        "WHERE event_type = 'ChildEnrolled' AND (payload->>'school_year')::int = $1",
        school_year,
    )
    return {uuid.UUID(r["child"]) for r in rows}


async def checked(pool: asyncpg.Pool, schema: str, quarter: str) -> set[uuid.UUID]:
    rows = await pool.fetch(f"SELECT resident_id FROM {schema}.pregnancy_checks WHERE quarter = $1", quarter)
    return {r["resident_id"] for r in rows}


async def latest_permits(pool: asyncpg.Pool, schema: str) -> list[tuple[Permit, dict | None]]:
    """Each living migrant's latest permit (the one that expires last)."""
    rows = await pool.fetch(
        f"SELECT DISTINCT ON (e.payload->>'resident_id') e.payload->>'resident_id' AS resident_id, "
        "e.payload->>'permit_ref' AS permit_ref, (e.payload->>'valid_until')::date AS valid_until, r.unit_code, r.personal "
        f"FROM {schema}.events e JOIN {schema}.residents r ON r.resident_id = (e.payload->>'resident_id')::uuid "
        "WHERE e.event_type = 'ResidencePermitIssued' AND r.status <> 'departed' AND NOT r.erased "
        "ORDER BY e.payload->>'resident_id', (e.payload->>'valid_until')::date DESC"
    )
    return [
        (Permit(uuid.UUID(r["resident_id"]), r["unit_code"], r["permit_ref"], r["valid_until"]), _json(r["personal"]))
        for r in rows
    ]


async def known_task_ids(pool: asyncpg.Pool, schema: str, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    rows = await pool.fetch(f"SELECT task_id FROM {schema}.department_tasks WHERE task_id = ANY($1::uuid[])", ids)
    return {r["task_id"] for r in rows}


async def add_task(conn: asyncpg.Connection, schema: str, task: Task, issued: Envelope) -> None:
    await conn.execute(
        f"INSERT INTO {schema}.department_tasks ({_TASK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)",
        task.task_id, task.department, task.kind, task.resident_id, task.unit_code, task.period, task.due_on,
        issued.recorded_at,
    )
    await to_outbox(conn, schema, task.department, issued)


async def to_outbox(conn: asyncpg.Connection, schema: str, department: str, event: Envelope) -> None:
    await conn.execute(
        f"INSERT INTO {schema}.task_outbox (department, stream_id, message) VALUES ($1, $2, $3)",
        department, event.stream_id, event.to_bytes().decode(),
    )


async def open_tasks_closed_by(conn: asyncpg.Connection, schema: str, closing: Closing) -> list[asyncpg.Record]:
    rows = await conn.fetch(
        f"SELECT {_TASK_COLUMNS} FROM {schema}.department_tasks WHERE resident_id = $1 AND closed_at IS NULL "
        "ORDER BY task_id FOR UPDATE",
        closing.resident_id,
    )
    return [
        r for r in rows
        if (closing.kind is None or r["kind"] == closing.kind)
        and (closing.period is None or r["period"] == closing.period)
        and (closing.renewed_until is None or closing.renewed_until > r["due_on"])
    ]


async def mark_closed(conn: asyncpg.Connection, schema: str, task_id: uuid.UUID, closed: Envelope, outcome: str) -> None:
    await conn.execute(
        f"UPDATE {schema}.department_tasks SET closed_at = $2, outcome = $3 WHERE task_id = $1",
        task_id, closed.recorded_at, outcome,
    )


async def listed(
    pool: asyncpg.Pool, schema: str, *, department: str | None, status: str | None, limit: int
) -> list[asyncpg.Record]:
    clauses, args = [], []
    if department:
        args.append(department)
        clauses.append(f"department = ${len(args)}")
    if status == "open":
        clauses.append("closed_at IS NULL")
    elif status == "closed":
        clauses.append("closed_at IS NOT NULL")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    args.append(limit)
    return await pool.fetch(
        f"SELECT {_TASK_COLUMNS} FROM {schema}.department_tasks {where} ORDER BY due_on, task_id LIMIT ${len(args)}", *args
    )


def born_window(oldest: int, youngest: int, on: date) -> tuple[date, date]:
    """Birth dates (after, by] of people aged ``youngest``..``oldest`` on ``on`` (a wide net;
    the pure rules decide exactly)."""
    return date(on.year - oldest - 2, 1, 1), date(on.year - youngest + 1, 12, 31)



async def note_check(conn: asyncpg.Connection, schema: str, resident_id: uuid.UUID, quarter: str) -> None:
    await conn.execute(
        f"INSERT INTO {schema}.pregnancy_checks (resident_id, quarter) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        resident_id, quarter,
    )


def _json(value: str | dict | None) -> dict | None:
    return json.loads(value) if isinstance(value, str) else value
