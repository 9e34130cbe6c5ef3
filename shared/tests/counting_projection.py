"""A small read model for the kit's tests: services delivered, per unit and kind, and the
last version seen of each stream. It refuses any event whose payload says ``poison``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import asyncpg

from platform_kit.envelope import Envelope
from platform_kit.projection import Projection


class ServicesPerUnit(Projection):
    ddl = """
    CREATE TABLE IF NOT EXISTS {schema}.services_per_unit (
        unit_code text, service_kind text, delivered integer NOT NULL,
        PRIMARY KEY (unit_code, service_kind)
    );
    CREATE TABLE IF NOT EXISTS {schema}.stream_heads (stream_id text PRIMARY KEY, version integer NOT NULL);
    """

    def __init__(self, name: str, topics: Sequence[str], schema: str) -> None:
        self.name, self.topics, self.schema = name, topics, schema
        self.accepts_poison = False  # a test "fixes the bug" by setting it

    async def apply(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
        for event in events:
            if event.payload.get("poison") and not self.accepts_poison:
                raise ValueError(f"payload.poison: event {event.event_id} is refused by this read model")
        counts = Counter((e.unit_code, e.payload["service_kind"]) for e in events)
        await conn.execute(
            f"INSERT INTO {self.schema}.services_per_unit AS s SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) "
            "ON CONFLICT (unit_code, service_kind) DO UPDATE SET delivered = s.delivered + EXCLUDED.delivered",
            [u for u, _ in counts], [k for _, k in counts], list(counts.values()),
        )
        heads: dict[str, int] = {}
        for event in events:
            heads[event.stream_id] = max(heads.get(event.stream_id, 0), event.stream_version)
        await conn.execute(
            f"INSERT INTO {self.schema}.stream_heads AS h SELECT * FROM unnest($1::text[], $2::int[]) "
            "ON CONFLICT (stream_id) DO UPDATE SET version = greatest(h.version, EXCLUDED.version)",
            list(heads), list(heads.values()),
        )

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute(f"TRUNCATE {self.schema}.services_per_unit, {self.schema}.stream_heads")

    async def snapshot(self, pool: asyncpg.Pool) -> tuple[list, list]:
        counts = await pool.fetch(f"SELECT * FROM {self.schema}.services_per_unit ORDER BY 1, 2")
        heads = await pool.fetch(f"SELECT * FROM {self.schema}.stream_heads ORDER BY 1")
        return [tuple(r) for r in counts], [tuple(r) for r in heads]
