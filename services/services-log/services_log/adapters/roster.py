"""SQL of the roster: who is on it now (written in the same transaction as their StaffAssigned,
so a service recorded a moment after an assignment finds them), the key that seals each staff
member's name, and the year's network facts read back from the services log's own store."""

from __future__ import annotations

import json
import uuid
from datetime import date

import asyncpg

from platform_kit.calendar import start_of
from platform_kit.sealing import new_key
from services_log.domain.network import Activity, Assignment, Removal, Training
from services_log.domain.roster import OnRoster

# Keys never leave this table: deleting a staff member's key makes every copy of their sealed
# name (in the store, on Kafka) unreadable, as the registry does for residents.
DDL = """
CREATE TABLE IF NOT EXISTS {schema}.staff_keys (
    staff_ref text PRIMARY KEY,
    key_id    uuid  NOT NULL UNIQUE,
    key       bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.roster (
    staff_ref   text PRIMARY KEY,
    unit_code   text    NOT NULL,
    role        text    NOT NULL,
    assigned_on date    NOT NULL,
    version     integer NOT NULL
);
-- StaffRemoved: the first day off the roster; NULL while on it (a later assignment clears it).
ALTER TABLE {schema}.roster ADD COLUMN IF NOT EXISTS removed_on date;
"""


async def current(conn: asyncpg.Connection, schema: str, staff_ref: str) -> OnRoster | None:
    row = await conn.fetchrow(
        f"SELECT staff_ref, unit_code, role, assigned_on, version, removed_on FROM {schema}.roster WHERE staff_ref = $1",
        staff_ref,
    )
    return OnRoster(**dict(row)) if row else None


async def key_for(conn: asyncpg.Connection, schema: str, staff_ref: str) -> tuple[uuid.UUID, bytes]:
    """The staff member's sealing key, made on their first assignment."""
    await conn.execute(
        f"INSERT INTO {schema}.staff_keys (staff_ref, key_id, key) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        staff_ref, uuid.uuid4(), new_key(),
    )
    row = await conn.fetchrow(f"SELECT key_id, key FROM {schema}.staff_keys WHERE staff_ref = $1", staff_ref)
    return row["key_id"], bytes(row["key"])


async def save(conn: asyncpg.Connection, schema: str, staff: OnRoster) -> None:
    await conn.execute(
        f"INSERT INTO {schema}.roster (staff_ref, unit_code, role, assigned_on, version, removed_on) "
        "VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (staff_ref) DO UPDATE SET unit_code = EXCLUDED.unit_code, role = EXCLUDED.role, "
        "assigned_on = EXCLUDED.assigned_on, version = EXCLUDED.version, removed_on = EXCLUDED.removed_on",
        staff.staff_ref, staff.unit_code, staff.role, staff.assigned_on, staff.version, staff.removed_on,
    )


async def listed(pool: asyncpg.Pool, schema: str) -> list[OnRoster]:
    rows = await pool.fetch(
        f"SELECT staff_ref, unit_code, role, assigned_on, version, removed_on FROM {schema}.roster "
        "ORDER BY unit_code, staff_ref"
    )
    return [OnRoster(**dict(r)) for r in rows]


async def year_facts(
    pool: asyncpg.Pool, schema: str, year: int
) -> tuple[list[Assignment], list[Training], list[Activity], list[Removal]]:
    """Every assignment and removal dated by the end of ``year``, and the year's staff trainings
    and association activities (business time, the district's calendar), from the event store."""
    start, end = start_of(date(year, 1, 1)), start_of(date(year + 1, 1, 1))
    rows = await pool.fetch(
        f"SELECT event_type, unit_code, payload FROM {schema}.events "
        "WHERE (event_type IN ('StaffAssigned', 'StaffRemoved') AND occurred_at < $2) "
        "OR (event_type IN ('TrainingHeld', 'AssociationActivityHeld') AND occurred_at >= $1 AND occurred_at < $2)",
        start, end,
    )
    assignments, trainings, activities, removals = [], [], [], []
    for row in rows:
        p = json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]
        if row["event_type"] == "StaffAssigned":
            assignments.append(
                Assignment(p["staff_ref"], p["unit_code"], p["role"], date.fromisoformat(p["assigned_on"]))
            )
        elif row["event_type"] == "StaffRemoved":
            removals.append(Removal(p["staff_ref"], date.fromisoformat(p["removed_on"])))
        elif row["event_type"] == "TrainingHeld":
            if p.get("audience", "staff") == "staff":
                trainings.append(Training(row["unit_code"], p["person_times"], tuple(p.get("trainee_refs", []))))
        else:
            activities.append(Activity(row["unit_code"], p["association_ref"], p["participants"]))
    return assignments, trainings, activities, removals
