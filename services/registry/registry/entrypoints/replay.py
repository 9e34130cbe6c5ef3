"""The registry's replay plan (``msp replay registry``): its read model (residents, births,
verifications, discrepancies) rebuilt from its own event store with the code that writes it in
the command's transaction, and compared table by table."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from platform_kit.audit.replay import ReplayPlan
from platform_kit.envelope import Envelope
from platform_kit.projection import Projection

from registry.adapters.read_model import DDL, TABLES, ReadModel


class ReadModelReplay(Projection):
    """The read model as a projection: the registry writes it beside each append, never from
    a topic, so only a replay needs it in this shape."""

    name = "read_model"
    topics = ()
    ddl = DDL

    def __init__(self, schema: str) -> None:
        self.model = ReadModel(None, schema)  # type: ignore[arg-type]  # apply works on the caller's connection

    async def apply(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
        await self.model.apply(conn, events)


def plan(registry_schema: str = "registry") -> ReplayPlan:
    return ReplayPlan(sources=(registry_schema,), projection=ReadModelReplay, compared=TABLES)
