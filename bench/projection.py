"""A realistic small read model: services delivered, counted per unit and service kind."""

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
    """

    def __init__(self, topic: str, schema: str) -> None:
        self.name, self.topics, self.schema = "services_per_unit", [topic], schema

    async def apply(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
        counts = Counter((e.unit_code, e.payload["service_kind"]) for e in events)
        await conn.execute(
            f"INSERT INTO {self.schema}.services_per_unit AS s "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) "
            "ON CONFLICT (unit_code, service_kind) DO UPDATE SET delivered = s.delivered + EXCLUDED.delivered",
            [u for u, _ in counts], [k for _, k in counts], list(counts.values()),
        )

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute(f"TRUNCATE {self.schema}.services_per_unit")

    async def total(self, pool: asyncpg.Pool) -> int:
        return await pool.fetchval(f"SELECT coalesce(sum(delivered), 0) FROM {self.schema}.services_per_unit")
