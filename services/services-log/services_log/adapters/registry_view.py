"""The services log's own view of the registry's facts, fed from ``registry.events``: who lives
where and since when, who has left, sex, birth date, marital status. Never personal data: the
registry's sealed ``personal`` blob is not kept.

Residence is kept as the list of changes (registered into a unit, moved, departed), each at
its business time, so "where did they live on 3 March" is answered however late a report came.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime

import asyncpg

from platform_kit.contract import catalogue
from platform_kit.database import checked_schema
from platform_kit.envelope import Envelope
from platform_kit.projection import Projection
from services_log.domain.residence import ResidenceChange, ResidentFacts

# Called in the view's transaction with the residents a batch told us about (and the event that
# did): the services log places the records that were waiting for them.
OnResidentsKnown = Callable[[asyncpg.Connection, dict[uuid.UUID, Envelope]], Awaitable[None]]

DDL = """
CREATE TABLE IF NOT EXISTS {schema}.registry_residents (
    resident_id    uuid PRIMARY KEY,
    sex            text,
    birth_date     date,
    marital_status text,
    population     text
);
CREATE TABLE IF NOT EXISTS {schema}.registry_residence_changes (
    event_id       uuid PRIMARY KEY,
    resident_id    uuid        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    stream_version integer     NOT NULL,
    unit_code      text  -- null: left the district
);
CREATE INDEX IF NOT EXISTS registry_residence_changes_by_resident
    ON {schema}.registry_residence_changes (resident_id, occurred_at, stream_version);
"""

_UNIT_OF = {"ResidentRegistered": "unit_code", "ResidentMoved": "to_unit", "ResidentDeparted": None}
CORRECTED = "ResidentRecordCorrected"
RESIDENT_EVENTS = frozenset({*_UNIT_OF, "MaritalStatusChanged", CORRECTED})
# The resident's details a correction of a registration (or of a marital change) restates.
_DETAILS = ("sex", "birth_date", "marital_status", "population")


class RegistryView(Projection):
    name = "registry_view"
    event_types = RESIDENT_EVENTS  # what it reads of registry.events (the contract document says so)

    def __init__(
        self,
        schema: str,
        registry_topic: str,
        *,
        on_residents_known: OnResidentsKnown | None = None,
    ) -> None:
        self.schema = checked_schema(schema)
        self.topics = [registry_topic]
        self.ddl = DDL
        self.on_residents_known = on_residents_known

    async def apply(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
        facts = [(event, catalogue.load(event)) for event in events if event.event_type in RESIDENT_EVENTS]
        told = {payload.resident_id: event for event, payload in facts}
        await lock_residents(conn, self.schema, told)
        for event, payload in facts:
            await self._apply_one(conn, event, payload)
        if told and self.on_residents_known is not None:
            await self.on_residents_known(conn, told)

    async def _apply_one(self, conn: asyncpg.Connection, event: Envelope, payload) -> None:
        s = self.schema
        if event.event_type == "ResidentRegistered":
            await conn.execute(
                f"INSERT INTO {s}.registry_residents VALUES ($1, $2, $3, $4, $5) ON CONFLICT (resident_id) DO UPDATE "
                "SET sex = $2, birth_date = $3, marital_status = $4, population = $5",
                payload.resident_id,
                payload.sex,
                payload.birth_date,
                payload.marital_status,
                payload.population,
            )
        elif event.event_type == "MaritalStatusChanged":
            await conn.execute(
                f"INSERT INTO {s}.registry_residents (resident_id, marital_status) VALUES ($1, $2) "
                "ON CONFLICT (resident_id) DO UPDATE SET marital_status = $2",
                payload.resident_id,
                payload.marital_status,
            )
        elif event.event_type == CORRECTED:
            await self._correct(conn, event, payload)
        if event.event_type in _UNIT_OF:
            field = _UNIT_OF[event.event_type]
            await conn.execute(
                f"INSERT INTO {s}.registry_residence_changes VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                event.event_id,
                payload.resident_id,
                event.occurred_at,
                event.stream_version,
                getattr(payload, field) if field else None,
            )

    async def _correct(self, conn: asyncpg.Connection, event: Envelope, payload) -> None:
        """A registration, move or marital change entered wrong, made right (the registry's
        ResidentRecordCorrected): the residence change it made takes the right day and unit, or
        goes if the move never happened; the details take their right values. The registry
        corrects only what no later event rests on, so the latest details are the ones restated."""
        s = self.schema
        if payload.withdrawn:
            await conn.execute(f"DELETE FROM {s}.registry_residence_changes WHERE event_id = $1", payload.corrects)
            return
        if payload.corrected_type in _UNIT_OF:
            unit = payload.unit_code if payload.corrected_type == "ResidentRegistered" else payload.to_unit
            await conn.execute(
                f"UPDATE {s}.registry_residence_changes SET occurred_at = coalesce($2, occurred_at), "
                "unit_code = coalesce($3, unit_code) WHERE event_id = $1",
                payload.corrects, payload.happened_at, unit,
            )
        details = {name: getattr(payload, name) for name in _DETAILS if getattr(payload, name) is not None}
        if details:
            names = list(details)
            await conn.execute(
                f"UPDATE {s}.registry_residents SET {', '.join(f'{n} = ${i + 2}' for i, n in enumerate(names))} "
                "WHERE resident_id = $1",
                payload.resident_id, *details.values(),
            )

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute(f"TRUNCATE {self.schema}.registry_residents, {self.schema}.registry_residence_changes")

    async def snapshot(self, conn: asyncpg.Connection | asyncpg.Pool) -> tuple[list[tuple], list[tuple]]:
        residents = await conn.fetch(f"SELECT * FROM {self.schema}.registry_residents ORDER BY resident_id")
        changes = await conn.fetch(f"SELECT * FROM {self.schema}.registry_residence_changes ORDER BY event_id")
        return [tuple(r) for r in residents], [tuple(r) for r in changes]


async def lock_residents(conn: asyncpg.Connection, schema: str, resident_ids: Iterable[uuid.UUID]) -> None:
    """Serialise the view's update of a resident with the recording of a service for them.

    Without it a service could read "not yet known", the view could then commit the resident
    and look for waiting records before that service committed, and the service would wait
    forever. Held to the end of the transaction. Both paths take these locks in key order and
    before the event store's table lock, so no two transactions ever wait on each other in a cycle.
    """
    keys = sorted(f"{schema}:resident:{resident_id}" for resident_id in resident_ids)
    if keys:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
            "FROM (SELECT unnest($1::text[]) AS k ORDER BY 1) AS sorted",
            keys,
        )


async def resident_facts(
    conn: asyncpg.Connection | asyncpg.Pool, schema: str, resident_id: uuid.UUID
) -> ResidentFacts | None:
    """What the registry has told us of a resident, or None if it has not placed them anywhere yet."""
    return (await residents_facts(conn, schema, [resident_id])).get(resident_id)


async def residents_facts(
    conn: asyncpg.Connection | asyncpg.Pool, schema: str, resident_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ResidentFacts]:
    """What the registry has told us of each of these residents it has placed somewhere.

    One statement: the residence changes and the details are read in one snapshot (read without
    a transaction, two queries could see a batch of the view half applied) and one round trip."""
    rows = await conn.fetch(
        f"SELECT c.resident_id, c.occurred_at, c.unit_code, r.sex, r.birth_date "
        f"FROM {schema}.registry_residence_changes c "
        f"LEFT JOIN {schema}.registry_residents r ON r.resident_id = c.resident_id "
        "WHERE c.resident_id = ANY($1::uuid[]) ORDER BY c.resident_id, c.occurred_at, c.stream_version",
        list(resident_ids),
    )
    by_resident: dict[uuid.UUID, list[asyncpg.Record]] = {}
    for row in rows:
        by_resident.setdefault(row["resident_id"], []).append(row)
    return {
        resident_id: ResidentFacts(
            resident_id=resident_id,
            changes=tuple(ResidenceChange(c["occurred_at"], c["unit_code"]) for c in changes),
            sex=changes[0]["sex"],
            birth_date=changes[0]["birth_date"],
        )
        for resident_id, changes in by_resident.items()
    }


async def resident_now(pool: asyncpg.Pool, schema: str, resident_id: uuid.UUID, now: datetime) -> dict:
    """The resident as staff would look them up: known or not, where they live now, since when."""
    facts = await resident_facts(pool, schema, resident_id)
    row = await pool.fetchrow(f"SELECT * FROM {schema}.registry_residents WHERE resident_id = $1", resident_id)
    attributes = {k: row[k] for k in ("sex", "birth_date", "marital_status", "population")} if row else {}
    if facts is None:
        return {"resident_id": resident_id, "known": False, **attributes}
    current = facts.whereabouts_at(now)
    return {
        "resident_id": resident_id,
        "known": True,
        "unit_code": current.unit_code,
        "since": current.occurred_at,
        "departed": current.unit_code is None,
        **attributes,
    }
