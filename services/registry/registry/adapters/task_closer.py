"""The projection that closes department tasks: it reads the registry's own facts (an
enrolment, a permit, a departure, an erasure) and the services log's (a pregnancy check
delivered), and closes each open task a fact answers, in the same transaction as its position.

Only the pregnancy checks it has seen are a read model (reset by a rebuild); the tasks are
write-side state, so a rebuild re-reads history without closing anything twice."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

import asyncpg

from platform_kit.calendar import local_date
from platform_kit.database import checked_schema
from platform_kit.envelope import Envelope
from platform_kit.projection import Projection
from registry.adapters import tasks as sql
from registry.domain.tasks import quarter_of
from registry.service_layer.tasks import DepartmentTasks

CLOSING_TYPES = frozenset(
    {"ChildEnrolled", "ResidencePermitIssued", "ResidentDeparted", "PersonalDataErased", "ServiceDelivered"}
)


class TaskCloser(Projection):
    name = "task_closer"
    event_types = CLOSING_TYPES

    def __init__(self, schema: str, topics: list[str], tasks: Callable[[], DepartmentTasks]) -> None:
        self.schema = checked_schema(schema)
        self.topics = topics
        self.ddl = sql.DDL
        self._tasks = tasks

    async def apply(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
        relevant = [e for e in events if e.event_type in CLOSING_TYPES]
        for e in relevant:
            if e.event_type == "ServiceDelivered" and e.payload.get("service_kind") == "pregnancy_check" and e.payload.get("resident_id"):
                await sql.note_check(conn, self.schema, uuid.UUID(str(e.payload["resident_id"])), quarter_of(local_date(e.occurred_at)))
        if relevant:
            await self._tasks().close(conn, relevant)

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute(f"TRUNCATE {self.schema}.pregnancy_checks")
