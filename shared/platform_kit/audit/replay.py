"""Rebuild a service's read models from history into a fresh schema, and compare with live.

Generic over any kit :class:`~platform_kit.projection.Projection`: the events come from the
*source services' event stores*, each read in its commit order (position), and the stores are
merged by when each event was recorded (then store, then position), so two replays of the
same history apply the same events in the same order. A projection in this platform must not
depend on the interleaving of two topics (Kafka gives none across topics either); the
assessment's view is proven order-independent by its property tests. See docs/audit.md for
why the stores and not the Kafka topics are the source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from platform_kit.catalogue import EventCatalogue
from platform_kit.database import apply_ddl, checked_schema
from platform_kit.envelope import Envelope
from platform_kit.event_store import ENVELOPE_FIELDS
from platform_kit.projection import KIT_DDL, Projection


@dataclass(frozen=True)
class ReplayPlan:
    """What a service's replay needs: the stores it was fed from, its projection built on a
    given schema, and the read-model tables that must come out identical."""

    sources: Sequence[str]
    projection: Callable[[str], Projection]
    compared: Sequence[str]
    # table -> what of it is compared, a query with ``{schema}`` in it (default: every column,
    # every row). For views that also hold what the clock did, not the events (the notifier's
    # scheduler): the plan says which part is the events' doing.
    views: Mapping[str, str] = field(default_factory=dict)


async def history(
    pool: asyncpg.Pool, sources: Sequence[str], *, event_types: frozenset[str] | None,
    until: datetime | None, known_at: datetime | None, catalogue: EventCatalogue | None = None,
) -> list[Envelope]:
    """Every event of the sources the clocks let through, in the replay's deterministic order,
    each brought to its current schema version by ``catalogue``'s upcasters (as the runner does
    on the topics): stores keep every event as it was written, old versions included."""
    keyed = []
    for index, schema in enumerate(sources):
        schema = checked_schema(schema)
        rows = await pool.fetch(
            f"SELECT position, {', '.join(ENVELOPE_FIELDS)} FROM {schema}.events "
            "WHERE ($1::text[] IS NULL OR event_type = ANY($1::text[])) "
            "AND ($2::timestamptz IS NULL OR occurred_at <= $2) AND ($3::timestamptz IS NULL OR recorded_at <= $3) "
            "ORDER BY position",
            sorted(event_types) if event_types is not None else None, until, known_at,
        )
        keyed += [((r["recorded_at"], index, r["position"]), Envelope.model_construct(**{f: r[f] for f in ENVELOPE_FIELDS})) for r in rows]
    keyed.sort(key=lambda pair: pair[0])
    if catalogue is None:
        return [event for _, event in keyed]
    return [catalogue.upcast(event) if catalogue.knows(event.event_type) else event for _, event in keyed]


async def rebuild(
    pool: asyncpg.Pool, projection: Projection, schema: str, events: Sequence[Envelope], *,
    batch_size: int = 500, progress: Callable[[int], None] | None = None,
) -> None:
    """Apply ``events`` to ``projection`` in a fresh ``schema``, a transaction per batch."""
    schema = checked_schema(schema)
    await apply_ddl(pool, schema, KIT_DDL)
    if projection.ddl:
        await apply_ddl(pool, schema, projection.ddl)
    for start in range(0, len(events), batch_size):
        batch = events[start : start + batch_size]
        async with pool.acquire() as conn, conn.transaction():
            await projection.apply(conn, batch)
        if progress:
            progress(len(batch))


async def differences(
    pool: asyncpg.Pool, live: str, rebuilt: str, tables: Sequence[str], *, views: Mapping[str, str] | None = None,
    most: int = 1000,
) -> list[tuple[str, str, dict]]:
    """(table, "only live" | "only rebuilt", row) for every row that is not in both."""
    live, rebuilt = checked_schema(live), checked_schema(rebuilt)
    out = []
    for table in tables:
        query = (views or {}).get(table, f"SELECT * FROM {{schema}}.{table}")
        for side, a, b in (("only live", live, rebuilt), ("only rebuilt", rebuilt, live)):
            rows = await pool.fetch(f"{query.format(schema=a)} EXCEPT {query.format(schema=b)} LIMIT {int(most)}")
            out += [(table, side, dict(r)) for r in rows]
    return out
