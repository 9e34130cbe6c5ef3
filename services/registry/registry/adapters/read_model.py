"""The registry's own read model: residents, births, verification requests, discrepancies.

It is written in the same transaction as the events it reflects (the registry is its only
writer), so staff read their own writes, duplicate and reconciliation checks never run on a
lagging view, and a crash can never leave the two apart. Like any projection it can be
dropped and rebuilt from the event store (:meth:`ReadModel.rebuild`); nothing personal is
kept here except the sealed blob, which is useless without the person's key.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import asyncpg

from platform_kit.contract import catalogue
from platform_kit.database import apply_ddl, checked_schema
from platform_kit.envelope import Envelope
from platform_kit.event_store import EventStore

from registry.domain.reconciliation import LivingChild, ReportedBirth

DDL = """
CREATE TABLE IF NOT EXISTS {schema}.residents (
    resident_id   uuid PRIMARY KEY,
    unit_code     text NOT NULL,
    status        text NOT NULL,
    sex           text NOT NULL,
    birth_date    date NOT NULL,
    marital_status text NOT NULL,
    population    text NOT NULL,
    household_registration_place text NOT NULL,
    mother_resident_id uuid,
    registered_at timestamptz NOT NULL,
    departed_at   timestamptz,
    erased        boolean NOT NULL DEFAULT false,
    personal      jsonb,
    version       integer NOT NULL
);
CREATE INDEX IF NOT EXISTS residents_unit ON {schema}.residents (unit_code, status);
CREATE TABLE IF NOT EXISTS {schema}.births (
    event_id           uuid PRIMARY KEY,
    mother_resident_id uuid NOT NULL,
    child_resident_id  uuid NOT NULL,
    birth_date         date NOT NULL,
    sex                text NOT NULL,
    reported_by        text NOT NULL,
    report_ref         text NOT NULL,
    source             text NOT NULL,
    recorded_at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS births_child ON {schema}.births (child_resident_id);
CREATE TABLE IF NOT EXISTS {schema}.verifications (
    request_id        uuid PRIMARY KEY,
    resident_id       uuid NOT NULL,
    unit_code         text NOT NULL,
    direction         text NOT NULL,
    kind              text NOT NULL,
    counterpart_place text NOT NULL,
    subject           text NOT NULL,
    raised_by         text NOT NULL,
    requested_on      date NOT NULL,
    due_on            date NOT NULL,
    replied_on        date,
    outcome           text,
    version           integer NOT NULL
);
CREATE INDEX IF NOT EXISTS verifications_open ON {schema}.verifications (due_on) WHERE replied_on IS NULL;
CREATE TABLE IF NOT EXISTS {schema}.discrepancies (
    discrepancy_id     uuid PRIMARY KEY,
    kind               text NOT NULL,
    unit_code          text NOT NULL,
    mother_resident_id uuid,
    child_resident_id  uuid,
    birth_date         date,
    found_by           text NOT NULL,
    found_at           timestamptz NOT NULL,
    detail             text NOT NULL
);
"""

TABLES = ("residents", "births", "verifications", "discrepancies")


def _resident_id(stream_id: str) -> uuid.UUID | None:
    prefix, _, rest = stream_id.partition("-")
    return uuid.UUID(rest) if prefix == "resident" else None


class ReadModel:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.schema = checked_schema(schema)

    async def setup(self) -> None:
        await apply_ddl(self.pool, self.schema, DDL)

    # ---- writing: one function per event type ---------------------------------------

    async def apply(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
        for event in events:
            handler = getattr(self, f"_on_{event.event_type}", None)
            if handler is not None:
                await handler(conn, event, event.payload)
            resident_id = _resident_id(event.stream_id)
            if resident_id is not None:
                await conn.execute(
                    f"UPDATE {self.schema}.residents SET version = greatest(version, $2) WHERE resident_id = $1",
                    resident_id, event.stream_version,
                )

    async def _on_ResidentRecordCorrected(self, conn: asyncpg.Connection, e: Envelope, p: dict[str, Any]) -> None:
        # What was wrong (``changed``), and the unit the resident lives in once corrected (the envelope's).
        columns = {"unit_code": e.unit_code}
        for name in p.get("changed") or ():
            if name == "happened_at":
                if p["corrected_type"] == "ResidentRegistered":
                    columns["registered_at"] = datetime.fromisoformat(str(p["happened_at"]))
            elif name == "birth_date":
                columns[name] = date.fromisoformat(str(p[name]))
            elif name in ("sex", "marital_status", "population"):
                columns[name] = p[name]
        names = list(columns)
        await conn.execute(
            f"UPDATE {self.schema}.residents SET {', '.join(f'{n} = ${i + 2}' for i, n in enumerate(names))} "
            "WHERE resident_id = $1",
            uuid.UUID(str(p["resident_id"])), *columns.values(),
        )

    async def _on_ResidentRegistered(self, conn: asyncpg.Connection, e: Envelope, p: dict[str, Any]) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.residents (resident_id, unit_code, status, sex, birth_date, marital_status, "
            "population, household_registration_place, mother_resident_id, registered_at, personal, version) "
            "VALUES ($1, $2, 'living', $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            uuid.UUID(str(p["resident_id"])), p["unit_code"], p["sex"], date.fromisoformat(str(p["birth_date"])),
            p["marital_status"], p["population"], p["household_registration_place"],
            _uuid(p.get("mother_resident_id")), e.occurred_at, p["personal"], e.stream_version,
        )

    async def _on_ResidentMoved(self, conn: asyncpg.Connection, e: Envelope, p: dict[str, Any]) -> None:
        await self._set(conn, p["resident_id"], "unit_code", p["to_unit"])

    async def _on_ResidentDeparted(self, conn: asyncpg.Connection, e: Envelope, p: dict[str, Any]) -> None:
        await self._set(conn, p["resident_id"], "status", "departed")
        await self._set(conn, p["resident_id"], "departed_at", e.occurred_at)

    async def _on_MaritalStatusChanged(self, conn: asyncpg.Connection, e: Envelope, p: dict[str, Any]) -> None:
        await self._set(conn, p["resident_id"], "marital_status", p["marital_status"])

    async def _on_PersonalDataErased(self, conn: asyncpg.Connection, e: Envelope, p: dict[str, Any]) -> None:
        await self._set(conn, p["resident_id"], "erased", True)
        await self._set(conn, p["resident_id"], "personal", None)

    async def _on_BirthReported(self, conn: asyncpg.Connection, e: Envelope, p: dict[str, Any]) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.births VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            e.event_id, _uuid(p["mother_resident_id"]), _uuid(p["child_resident_id"]),
            date.fromisoformat(str(p["birth_date"])), p["sex"], p["reported_by"], p["report_ref"], e.source, e.recorded_at,
        )

    async def _on_VerificationRequested(self, conn: asyncpg.Connection, e: Envelope, p: dict[str, Any]) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.verifications (request_id, resident_id, unit_code, direction, kind, "
            "counterpart_place, subject, raised_by, requested_on, due_on, version) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            _uuid(p["request_id"]), _uuid(p["resident_id"]), e.unit_code, p["direction"], p["kind"],
            p["counterpart_place"], p["subject"], p["raised_by"], date.fromisoformat(str(p["requested_on"])),
            date.fromisoformat(str(p["due_on"])), e.stream_version,
        )

    async def _on_VerificationReplied(self, conn: asyncpg.Connection, e: Envelope, p: dict[str, Any]) -> None:
        await conn.execute(
            f"UPDATE {self.schema}.verifications SET replied_on = $2, outcome = $3, version = $4 WHERE request_id = $1",
            _uuid(p["request_id"]), date.fromisoformat(str(p["replied_on"])), p["outcome"], e.stream_version,
        )

    async def _on_BirthDiscrepancyFound(self, conn: asyncpg.Connection, e: Envelope, p: dict[str, Any]) -> None:
        birth = p.get("birth_date")
        await conn.execute(
            f"INSERT INTO {self.schema}.discrepancies VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            _uuid(p["discrepancy_id"]), p["kind"], e.unit_code, _uuid(p.get("mother_resident_id")),
            _uuid(p.get("child_resident_id")), date.fromisoformat(str(birth)) if birth else None,
            p["found_by"], e.occurred_at, p["detail"],
        )

    async def _set(self, conn: asyncpg.Connection, resident_id: Any, column: str, value: Any) -> None:
        await conn.execute(
            f"UPDATE {self.schema}.residents SET {column} = $2 WHERE resident_id = $1", _uuid(resident_id), value
        )

    async def rebuild(self, store: EventStore, *, page: int = 2000) -> int:
        """Empty the read model and replay the whole event store into it; returns the events replayed."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(f"LOCK TABLE {store.table} IN EXCLUSIVE MODE")  # no append meanwhile
            await conn.execute(f"TRUNCATE {', '.join(f'{self.schema}.{t}' for t in TABLES)}")
            position, replayed = 0, 0
            while True:
                rows = await conn.fetch(
                    f"SELECT * FROM {store.table} WHERE position > $1 ORDER BY position LIMIT $2", position, page
                )
                if not rows:
                    return replayed
                events = [Envelope.model_construct(**{k: r[k] for k in r.keys() if k != "position"}) for r in rows]
                # The store keeps old schema versions as written: read them in today's shape.
                await self.apply(conn, [catalogue.upcast(e) if catalogue.knows(e.event_type) else e for e in events])
                position, replayed = rows[-1]["position"], replayed + len(rows)

    # ---- reading ---------------------------------------------------------------------

    async def residents(
        self, units: list[str] | None, *, status: str | None, population: str | None, limit: int, offset: int
    ) -> tuple[int, list[asyncpg.Record]]:
        where, args = self._resident_filter(units, status, population)
        total = await self.pool.fetchval(f"SELECT count(*) FROM {self.schema}.residents WHERE {where}", *args)
        rows = await self.pool.fetch(
            f"SELECT * FROM {self.schema}.residents WHERE {where} ORDER BY registered_at, resident_id "
            f"LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
            *args, limit, offset,
        )
        return total, rows

    def _resident_filter(self, units: list[str] | None, status: str | None, population: str | None) -> tuple[str, list[Any]]:
        clauses, args = ["true"], []
        for column, value in (("unit_code", units), ("status", status), ("population", population)):
            if value is not None:
                args.append(value)
                op = "= ANY($%d::text[])" if isinstance(value, list) else "= $%d"
                clauses.append(f"{column} {op % len(args)}")
        return " AND ".join(clauses), args

    async def counts(self, units: list[str] | None) -> list[asyncpg.Record]:
        where, args = self._resident_filter(units, None, None)
        return await self.pool.fetch(
            f"SELECT status, erased, population, sex, count(*) AS n FROM {self.schema}.residents "
            f"WHERE {where} GROUP BY status, erased, population, sex",
            *args,
        )

    async def hospital_only_births(self) -> list[ReportedBirth]:
        """Children whose birth only a hospital has reported, with the mother's unit now."""
        rows = await self.pool.fetch(
            f"SELECT b.child_resident_id, min(b.mother_resident_id::text)::uuid AS mother, min(b.birth_date) AS birth_date, "
            "array_agg(DISTINCT b.reported_by) AS reporters, "
            "min(b.report_ref) FILTER (WHERE b.reported_by = 'hospital') AS hospital_ref, min(r.unit_code) AS unit_code "
            f"FROM {self.schema}.births b JOIN {self.schema}.residents r ON r.resident_id = b.mother_resident_id "
            "GROUP BY b.child_resident_id "
            "HAVING bool_and(b.reported_by = 'hospital')"
        )
        return [
            ReportedBirth(r["mother"], r["child_resident_id"], r["birth_date"], frozenset(r["reporters"]), r["hospital_ref"], r["unit_code"])
            for r in rows
        ]

    async def living_children(self, units: list[str] | None, born_since: date) -> list[LivingChild]:
        where, args = self._resident_filter(units, "living", None)
        args.append(born_since)
        rows = await self.pool.fetch(
            f"SELECT r.resident_id, r.mother_resident_id, r.birth_date, r.unit_code, "
            f"EXISTS (SELECT 1 FROM {self.schema}.births b WHERE b.child_resident_id = r.resident_id) AS recorded "
            f"FROM {self.schema}.residents r WHERE {where} AND birth_date >= ${len(args)}",
            *args,
        )
        return [LivingChild(r["resident_id"], r["mother_resident_id"], r["birth_date"], r["unit_code"], r["recorded"]) for r in rows]

    async def found_discrepancies(self, ids: list[uuid.UUID]) -> set[uuid.UUID]:
        rows = await self.pool.fetch(
            f"SELECT discrepancy_id FROM {self.schema}.discrepancies WHERE discrepancy_id = ANY($1::uuid[])", ids
        )
        return {r["discrepancy_id"] for r in rows}

    async def discrepancies(self, units: list[str] | None, ids: list[uuid.UUID] | None = None) -> list[asyncpg.Record]:
        clauses, args = ["true"], []
        if units is not None:
            args.append(units)
            clauses.append(f"unit_code = ANY(${len(args)}::text[])")
        if ids is not None:
            args.append(ids)
            clauses.append(f"discrepancy_id = ANY(${len(args)}::uuid[])")
        return await self.pool.fetch(
            f"SELECT * FROM {self.schema}.discrepancies WHERE {' AND '.join(clauses)} ORDER BY found_at, discrepancy_id", *args
        )

    async def verifications(
        self, units: list[str] | None, *, resident_id: uuid.UUID | None, open_only: bool, overdue_on: date | None
    ) -> list[asyncpg.Record]:
        clauses, args = ["true"], []
        if units is not None:
            args.append(units)
            clauses.append(f"unit_code = ANY(${len(args)}::text[])")
        if resident_id is not None:
            args.append(resident_id)
            clauses.append(f"resident_id = ${len(args)}")
        if open_only:
            clauses.append("replied_on IS NULL")
        if overdue_on is not None:
            args.append(overdue_on)
            clauses.append(f"coalesce(replied_on, ${len(args)}) > due_on")
        return await self.pool.fetch(
            f"SELECT * FROM {self.schema}.verifications WHERE {' AND '.join(clauses)} ORDER BY due_on, request_id", *args
        )


def _uuid(value: Any) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))
