"""The district centre's decisions, read back from the assessment's own event store."""

from __future__ import annotations

import asyncpg

from assessment.domain.decisions import DECISION_TYPES, Decisions, fold
from assessment.domain.periods import Clocks
from platform_kit.envelope import Envelope
from platform_kit.event_store import ENVELOPE_FIELDS

# The event store also holds every CoverageChanged; decisions are a few among them.
_TYPES = ", ".join(f"'{t}'" for t in DECISION_TYPES)
DDL = f"""
CREATE INDEX IF NOT EXISTS events_decisions ON {{schema}}.events (recorded_at) WHERE event_type IN ({_TYPES});
"""


async def decisions(conn: asyncpg.Connection | asyncpg.Pool, schema: str, clocks: Clocks = Clocks()) -> Decisions:
    rows = await conn.fetch(
        f"SELECT * FROM {schema}.events WHERE event_type IN ({_TYPES}) "
        "AND ($1::timestamptz IS NULL OR occurred_at <= $1) AND ($2::timestamptz IS NULL OR recorded_at <= $2)",
        clocks.as_of, clocks.known_at,
    )
    return fold(Envelope.model_construct(**{name: row[name] for name in ENVELOPE_FIELDS}) for row in rows)
