"""The unit of work: the new events of one decision, and what they imply for the key vault,
the ID-number index and the read model, committed in one PostgreSQL transaction — either all
of it happened or none of it did. ``Origin`` says who asks and how the events are identified
(fresh ids for staff; ids derived from the department's event id for a department's fact,
which is what makes its redelivery harmless)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from platform_kit.clock import Clock
from platform_kit.contract.registry import PersonalDataErased, ResidentRegistered
from platform_kit.envelope import Envelope
from platform_kit.event_store import EventStore

from registry.adapters.read_model import ReadModel
from registry.adapters.vault import KeyVault, PersonKey
from registry.domain.facts import Fact


@dataclass(frozen=True)
class Origin:
    """Who asks, and how the events they cause are identified."""

    source: str = "registry"
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    event_id: Callable[[int], uuid.UUID] = field(default=lambda _index: uuid.uuid4())
    new_id: Callable[[], uuid.UUID] = field(default=uuid.uuid4)


STAFF = Origin()


@dataclass(frozen=True)
class Outcome:
    stream_id: str
    stream_version: int
    events: list[Envelope]
    resident_id: uuid.UUID | None = None
    child_resident_id: uuid.UUID | None = None

    @property
    def verification_request_ids(self) -> list[uuid.UUID]:
        return [uuid.UUID(str(e.payload["request_id"])) for e in self.events if e.event_type == "VerificationRequested"]


class UnitOfWork:
    def __init__(self, store: EventStore, vault: KeyVault, read_model: ReadModel, clock: Clock) -> None:
        self.store, self.vault, self.read_model, self.clock = store, vault, read_model, clock

    async def commit(
        self,
        facts: Sequence[Fact],
        versions: dict[str, int],
        origin: Origin,
        *,
        keys: Sequence[PersonKey] = (),
        claim: tuple[bytes, uuid.UUID, uuid.UUID | None] | None = None,
    ) -> list[Envelope]:
        """Append the facts (streams not in ``versions`` must be new) and, in the same
        transaction, keep the keys of people they register, shred the keys of people they
        erase, claim an ID number, and update the read model."""
        if not facts:
            return []
        events = self.envelopes(facts, versions, origin)
        registered = {f.payload.resident_id for f in facts if isinstance(f.payload, ResidentRegistered)}
        erased = [f.payload.resident_id for f in facts if isinstance(f.payload, PersonalDataErased)]
        async with self.store.pool.acquire() as conn, conn.transaction():
            await self.store.append(events, conn=conn)
            await self.vault.save(conn, [k for k in keys if k.resident_id in registered])
            for resident_id in erased:
                await self.vault.shred(conn, resident_id)
            if claim is not None:
                await self.vault.claim(conn, claim[0], claim[1], replacing=claim[2])
            await self.read_model.apply(conn, events)
        return events

    def envelopes(self, facts: Sequence[Fact], versions: dict[str, int], origin: Origin) -> list[Envelope]:
        heads = dict(versions)
        now = self.clock()
        events: list[Envelope] = []
        for index, fact in enumerate(facts):
            heads[fact.stream_id] = heads.get(fact.stream_id, 0) + 1
            event_id = origin.event_id(index)
            events.append(
                Envelope.new(
                    event_type=fact.event_type, stream_id=fact.stream_id, stream_version=heads[fact.stream_id],
                    unit_code=fact.unit_code, source=origin.source, payload=fact.payload.model_dump(mode="json"),
                    occurred_at=fact.occurred_at, recorded_at=now, event_id=event_id,
                    correlation_id=origin.correlation_id or (events[0].event_id if events else event_id),
                    causation_id=origin.causation_id,
                )
            )
        return events


def outcome(stream_id: str, events: list[Envelope], **ids: Any) -> Outcome:
    if not any(e.stream_id == stream_id for e in events):
        stream_id = events[0].stream_id  # e.g. a verification request: its own stream changed
    version = max(e.stream_version for e in events if e.stream_id == stream_id)
    return Outcome(stream_id=stream_id, stream_version=version, events=events, **ids)
