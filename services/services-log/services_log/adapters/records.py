"""SQL of the services log's own records: the records waiting for their resident, and its own
events read back (for a retry's comparison and for the HTTP reads)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from platform_kit.envelope import Envelope
from platform_kit.event_store import ENVELOPE_FIELDS
from services_log.domain.records import AwaitingRecord

# Write-side state, kept in the same transaction as the record's own event: which records still
# wait for the registry to tell us of their resident. Not part of any read model; never reset.
# Created by the service's setup hook (Recorder.attach), before the registry view, which
# resolves these records as the registry's facts arrive, first runs.
DDL = """
CREATE TABLE IF NOT EXISTS {schema}.awaiting_resident (
    stream_id      text PRIMARY KEY,
    record_type    text        NOT NULL,
    record_id      uuid        NOT NULL,
    stream_version integer     NOT NULL,
    resident_id    uuid        NOT NULL,
    unit_code      text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL,
    correlation_id uuid
);
CREATE INDEX IF NOT EXISTS awaiting_resident_by_resident ON {schema}.awaiting_resident (resident_id);
"""

_COLUMNS = (
    "record_type",
    "record_id",
    "stream_id",
    "stream_version",
    "resident_id",
    "unit_code",
    "occurred_at",
    "recorded_at",
    "correlation_id",
)


async def add_awaiting(conn: asyncpg.Connection, schema: str, record: AwaitingRecord) -> None:
    await conn.execute(
        f"INSERT INTO {schema}.awaiting_resident ({', '.join(_COLUMNS)}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        *(getattr(record, column) for column in _COLUMNS),
    )


async def awaiting_for(
    conn: asyncpg.Connection, schema: str, resident_ids: Sequence[uuid.UUID]
) -> list[AwaitingRecord]:
    rows = await conn.fetch(
        f"SELECT {', '.join(_COLUMNS)} FROM {schema}.awaiting_resident WHERE resident_id = ANY($1::uuid[]) "
        "ORDER BY recorded_at, stream_id",
        list(resident_ids),
    )
    return [AwaitingRecord(**dict(row)) for row in rows]


async def list_awaiting(
    pool: asyncpg.Pool, schema: str, *, unit_code: str | None = None, limit: int = 100
) -> list[AwaitingRecord]:
    rows = await pool.fetch(
        f"SELECT {', '.join(_COLUMNS)} FROM {schema}.awaiting_resident WHERE $1::text IS NULL OR unit_code = $1 "
        "ORDER BY recorded_at, stream_id LIMIT $2",
        unit_code,
        limit,
    )
    return [AwaitingRecord(**dict(row)) for row in rows]


async def remove_awaiting(conn: asyncpg.Connection, schema: str, stream_ids: Sequence[str]) -> None:
    await conn.execute(f"DELETE FROM {schema}.awaiting_resident WHERE stream_id = ANY($1::text[])", list(stream_ids))


async def event_by_id(conn: asyncpg.Connection, schema: str, event_id: uuid.UUID) -> Envelope | None:
    row = await conn.fetchrow(f"SELECT * FROM {schema}.events WHERE event_id = $1", event_id)
    return _envelope(row) if row else None


async def first_event(conn: asyncpg.Connection, schema: str, stream_id: str) -> Envelope | None:
    row = await conn.fetchrow(f"SELECT * FROM {schema}.events WHERE stream_id = $1 AND stream_version = 1", stream_id)
    return _envelope(row) if row else None


async def event_at(conn: asyncpg.Connection, schema: str, stream_id: str, version: int) -> Envelope | None:
    row = await conn.fetchrow(
        f"SELECT * FROM {schema}.events WHERE stream_id = $1 AND stream_version = $2", stream_id, version
    )
    return _envelope(row) if row else None


def _envelope(row: asyncpg.Record) -> Envelope:
    return Envelope.model_construct(**{name: row[name] for name in ENVELOPE_FIELDS})
