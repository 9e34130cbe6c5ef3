"""The district centre's decisions, read back from the assessment's own event store."""

from __future__ import annotations

import asyncpg

from assessment.domain.decisions import DECISION_TYPES, Decisions, fold
from assessment.domain.periods import Clocks
from platform_kit.envelope import Envelope
from platform_kit.event_store import ENVELOPE_FIELDS

# The event store also holds every CoverageChanged; decisions are a few among them. The index
# is named by its types: a new decision type gets a new index (and the old one goes).
_TYPES = ", ".join(f"'{t}'" for t in DECISION_TYPES)
DDL = f"""
DROP INDEX IF EXISTS {{schema}}.events_decisions;
CREATE INDEX IF NOT EXISTS events_decisions_{len(DECISION_TYPES)} ON {{schema}}.events (recorded_at)
    WHERE event_type IN ({_TYPES});
CREATE TABLE IF NOT EXISTS {{schema}}.documents (
    sha256 text PRIMARY KEY,
    media_type text NOT NULL,
    content bytea NOT NULL,
    unit_code text NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
);
-- The people a veto holds to account (personal data: never on the event, which refers here).
CREATE TABLE IF NOT EXISTS {{schema}}.veto_responsible (
    veto_event_id uuid NOT NULL,
    position int NOT NULL,
    role text NOT NULL,
    name text NOT NULL,
    PRIMARY KEY (veto_event_id, position)
);
"""


async def keep_responsible(conn: asyncpg.Connection | asyncpg.Pool, schema: str, veto_event_id, people: list[dict]) -> None:
    await conn.executemany(
        f"INSERT INTO {schema}.veto_responsible VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        [(veto_event_id, i, p["role"], p["name"]) for i, p in enumerate(people)],
    )


async def responsible(conn: asyncpg.Connection | asyncpg.Pool, schema: str, veto_event_ids: list) -> dict:
    rows = await conn.fetch(
        f"SELECT * FROM {schema}.veto_responsible WHERE veto_event_id = ANY($1::uuid[]) ORDER BY position",
        veto_event_ids,
    )
    found: dict = {}
    for row in rows:
        found.setdefault(row["veto_event_id"], []).append({"role": row["role"], "name": row["name"]})
    return found


async def keep_document(conn: asyncpg.Connection | asyncpg.Pool, schema: str, *, sha256: str, media_type: str,
                        content: bytes, unit_code: str) -> None:
    """The bytes of a handed-in document, by their hash (the same bytes twice are kept once)."""
    await conn.execute(
        f"INSERT INTO {schema}.documents (sha256, media_type, content, unit_code) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (sha256) DO NOTHING",
        sha256, media_type, content, unit_code,
    )


async def document(conn: asyncpg.Connection | asyncpg.Pool, schema: str, sha256: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT * FROM {schema}.documents WHERE sha256 = $1", sha256)


async def decisions(conn: asyncpg.Connection | asyncpg.Pool, schema: str, clocks: Clocks = Clocks()) -> Decisions:
    rows = await conn.fetch(
        f"SELECT * FROM {schema}.events WHERE event_type IN ({_TYPES}) "
        "AND ($1::timestamptz IS NULL OR occurred_at <= $1) AND ($2::timestamptz IS NULL OR recorded_at <= $2)",
        clocks.as_of, clocks.known_at,
    )
    return fold(Envelope.model_construct(**{name: row[name] for name in ENVELOPE_FIELDS}) for row in rows)
