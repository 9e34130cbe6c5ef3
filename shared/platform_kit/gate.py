"""The department gate: facts from ``ingest.<department>`` in, refusals out to ``ingest.rejected``.

Every service that accepts department facts reads them through this gate; the service
supplies only its translation of a fact into its own command (:class:`Accept`). The gate
does the rest the same way for all of them:

* **Triage** by ``platform_kit.topics.INGEST_ROUTES``: a fact routed to this service is
  accepted; the department's gatekeeper (the first service its routes name) also refuses
  what no service accepts and anything that is not a valid envelope from that department;
  every other service leaves the message alone. So each message gets exactly one answer.
* **Exactly one effect** across redeliveries and restarts: the ids of the events a fact
  causes are derived from the department's ``event_id`` (uuid5), a fact seen before is
  recognised by its first event id, and a race that slips past that check is refused by the
  event store (``DuplicateEvent``). The Kafka offset is committed only after the append (or
  the rejection) is done; a transient failure of the database or the broker leaves it
  uncommitted, so the message is read again after a pause.
* **One rejection shape** (:class:`platform_kit.contract.ingest.IngestRejection`), every
  field at fault with its reason, the original with personal data masked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Union

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from pydantic import BaseModel, ValidationError, WithJsonSchema, create_model

from platform_kit.catalogue import EventCatalogue, UnknownEventType, UnsupportedSchemaVersion
from platform_kit.contract.ingest import FieldProblem, IngestRejection
from platform_kit.envelope import Envelope, utc_now
from platform_kit.event_store import ConcurrencyConflict, DuplicateEvent, EventStore
from platform_kit.logs import PERSONAL_FIELDS, get_logger, mask_personal_text
from platform_kit.problems import Refusal, field_problems
from platform_kit.projection import INFRASTRUCTURE_ERRORS
from platform_kit.topics import INGEST_ROUTES, Topics, ingest_gatekeeper, ingest_owner

log = get_logger(__name__)
_NAMESPACE = uuid.UUID("0c6a1f8e-2d4b-4f6a-9b1e-7c3d5e8f9a20")


@dataclass(frozen=True)
class DepartmentFact:
    """A department's fact, valid as an envelope and as its event type's payload."""

    department: str
    envelope: Envelope
    payload: BaseModel
    _counter: Iterator[int] = field(default_factory=lambda: iter(range(1_000_000)), repr=False, compare=False)

    @property
    def source(self) -> str:
        return f"dept:{self.department}"

    @property
    def correlation_id(self) -> uuid.UUID:
        return self.envelope.correlation_id or self.envelope.event_id

    @property
    def causation_id(self) -> uuid.UUID:
        return self.envelope.event_id

    def event_id(self, index: int) -> uuid.UUID:
        """The id of the ``index``-th event this fact causes: the same on every redelivery."""
        return fact_event_id(self.department, self.envelope.event_id, index)

    def new_id(self) -> uuid.UUID:
        """An id for a new thing this fact creates (a child's resident id...): the same on every
        redelivery, in the order asked for."""
        return uuid.uuid5(_NAMESPACE, f"{self.department}:{self.envelope.event_id}:id:{next(self._counter)}")


def fact_event_id(department: str, department_event_id: uuid.UUID, index: int) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{department}:{department_event_id}:{index}")


# What the service does with a fact routed to it: decide and append, or raise Refusal (its
# field named as it sits in the department's message: payload.<field>, occurred_at...).
Accept = Callable[[DepartmentFact], Awaitable[None]]


@dataclass(frozen=True)
class Verdict:
    outcome: str  # accepted | duplicate | ignored | rejected
    rejection: IngestRejection | None = None


class DepartmentGate:
    def __init__(
        self,
        service: str,
        *,
        catalogue: EventCatalogue,
        topics: Topics,
        accept: Accept,
        store: Callable[[], EventStore | None],
        conflict_retries: int = 5,
        clock: Callable[[], Any] = utc_now,
    ) -> None:
        self.service, self.catalogue, self.topics = service, catalogue, topics
        self.accept, self._store = accept, store
        self.conflict_retries, self.clock = conflict_retries, clock

    def departments(self) -> list[str]:
        """The departments whose topic this service reads: it accepts some of their facts, or
        it is their gatekeeper."""
        return [
            d for d, routes in INGEST_ROUTES.items() if self.service in routes.values() or ingest_gatekeeper(d) == self.service
        ]

    def accepted(self, department: str) -> list[str]:
        return [t for t, owner in INGEST_ROUTES[department].items() if owner == self.service]

    def is_gatekeeper(self, department: str) -> bool:
        return ingest_gatekeeper(department) == self.service

    async def handle(self, department: str, body: bytes, *, topic: str, partition: int, offset: int) -> Verdict:
        """What becomes of one message; raises only for failures that are not the message's fault."""
        envelope: Envelope | None = None
        identity = _identity(body)
        try:
            try:
                envelope = Envelope.model_validate_json(body)
            except ValidationError as error:
                # A Kafka message has no HTTP body: what is not an envelope at all is the "message".
                problems = [p if p.field != "body" else FieldProblem(field="message", reason=p.reason) for p in field_problems(list(error.errors()))]
                return self._refuse_envelope(department, problems, body, identity, topic, partition, offset)
            if envelope.source != f"dept:{department}":
                reason = f"is {envelope.source!r}; {topic} carries messages from dept:{department} only"
                return self._refuse_envelope(department, [FieldProblem(field="source", reason=reason)], body, identity, topic, partition, offset)
            owner = ingest_owner(department, envelope.event_type)
            if owner is None:
                accepted = ", ".join(INGEST_ROUTES[department])
                reason = f"{envelope.event_type} is not accepted from {department} (accepted: {accepted})"
                return self._refuse_envelope(department, [FieldProblem(field="event_type", reason=reason)], body, identity, topic, partition, offset)
            if owner != self.service:
                return Verdict("ignored")
            return await self._accept(department, envelope, body, topic, partition, offset)
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception as error:
            # A message this code cannot handle must not block its partition for ever: it is
            # parked on ingest.rejected, whole, and can be sent again once the code is fixed.
            log.error("ingest.unhandled", topic=topic, offset=offset, error=type(error).__name__)
            reason = f"the {self.service} failed on it ({type(error).__name__}); nothing was recorded, send it again later"
            return self._reject([FieldProblem(field="message", reason=reason)], body, identity, topic, partition, offset)

    async def _accept(self, department: str, envelope: Envelope, body: bytes, topic: str, partition: int, offset: int) -> Verdict:
        identity = {"event_id": envelope.event_id, "event_type": envelope.event_type}
        store = self._store()
        if store is not None and await _stored(store, fact_event_id(department, envelope.event_id, 0)):
            return Verdict("duplicate")
        try:
            payload = self.catalogue.load(envelope)
        except ValidationError as error:
            problems = field_problems(list(error.errors()), drop_prefix=())
            problems = [FieldProblem(field=f"payload.{p.field}", reason=p.reason) for p in problems]
            return self._reject(problems, body, identity, topic, partition, offset)
        except (UnknownEventType, UnsupportedSchemaVersion) as error:
            reason = str(error).partition(": ")[2] or str(error)
            return self._reject([FieldProblem(field="schema_version", reason=reason)], body, identity, topic, partition, offset)
        for attempt in range(1, self.conflict_retries + 1):
            try:
                await self.accept(DepartmentFact(department, envelope, payload))
            except DuplicateEvent:
                return Verdict("duplicate")
            except ConcurrencyConflict:
                if attempt == self.conflict_retries:
                    raise
                continue  # the stream changed meanwhile: decide again on the new history
            except Refusal as refusal:
                return self._reject([FieldProblem(field=refusal.field, reason=refusal.reason)], body, identity, topic, partition, offset)
            except ValidationError as error:  # the contract allows what the service's command does not
                problems = [FieldProblem(field=f"payload.{p.field}", reason=p.reason) for p in field_problems(list(error.errors()), drop_prefix=())]
                return self._reject(problems, body, identity, topic, partition, offset)
            log.info("ingest.accepted", department=department, event_type=envelope.event_type, dept_event_id=str(envelope.event_id))
            return Verdict("accepted")
        raise AssertionError("unreachable")

    def _refuse_envelope(self, department: str, problems: list[FieldProblem], body: bytes, identity: dict, topic: str, partition: int, offset: int) -> Verdict:
        if not self.is_gatekeeper(department):
            return Verdict("ignored")  # the gatekeeper answers for it
        return self._reject(problems, body, identity, topic, partition, offset)

    def _reject(self, problems: list[FieldProblem], body: bytes, identity: dict, topic: str, partition: int, offset: int) -> Verdict:
        first = problems[0]
        rejection = IngestRejection(
            rejected_by=self.service, rejected_at=self.clock(), topic=topic, partition=partition, offset=offset,
            event_id=_uuid_or_none(identity.get("event_id")), event_type=identity.get("event_type"),
            field=first.field, reason=first.reason, errors=problems, original=masked(body),
        )
        log.warning("ingest.rejected", topic=topic, offset=offset, errors=[f"{p.field}: {p.reason}" for p in problems][:5])
        return Verdict("rejected", rejection)

    # ---- on the bus ----------------------------------------------------------------------

    def subscribe(
        self,
        broker: KafkaBroker,
        *,
        instance_id: str | None = None,
        session_timeout_ms: int = 10_000,
        retry_seconds: float = 1.0,
    ) -> None:
        """One subscriber per department this service reads, and the ``ingest.rejected``
        publisher (on a broker that is never started: the declarations for the AsyncAPI document)."""
        rejected = broker.publisher(
            self.topics.ingest_rejected, title=f"{self.topics.ingest_rejected}:{self.service}", schema=IngestRejection,
            description=f"Department messages the {self.service} could not accept, each with every field at fault "
            "and why. Key: the original message's key.",
        )
        for department in self.departments():
            self._subscribe(broker, rejected, department, instance_id, session_timeout_ms, retry_seconds)

    def _subscribe(self, broker: KafkaBroker, rejected: Any, department: str, instance_id: str | None,
                   session_timeout_ms: int, retry_seconds: float) -> None:
        topic = self.topics.ingest(department)
        accepted = self.accepted(department)
        fact = envelope_of(
            f"{department.title().replace('-', '')}FactFor{self.service.title().replace('-', '')}",
            [self.catalogue.model(t) for t in accepted] or [BaseModel],
            f"A fact from {department}",
        )
        gate = self
        what = ", ".join(accepted) if accepted else "none of its types"
        rest = "it rejects any other type (it is the gatekeeper)." if self.is_gatekeeper(department) else "it ignores the others."

        async def handle(body: bytes, message: KafkaMessage) -> None:
            record = message.raw_message
            try:
                verdict = await gate.handle(department, body, topic=record.topic, partition=record.partition, offset=record.offset)
                if verdict.rejection is not None:
                    headers = {"field": verdict.rejection.field, "rejected_by": gate.service}
                    await rejected.publish(verdict.rejection, key=record.key, headers=headers)
            except Exception as error:
                # The database or the broker failed: not the message's fault. Do not spin; the
                # offset stays uncommitted and the message comes again.
                log.warning("ingest.retry", topic=record.topic, offset=record.offset, error=f"{type(error).__name__}: {error}"[:300])
                await asyncio.sleep(retry_seconds)
                raise

        # Set here, not written in the signature: postponed annotations (this module's
        # ``from __future__ import annotations``) cannot name the local ``fact``.
        handle.__annotations__ = {
            "body": Annotated[bytes, WithJsonSchema(_inline(fact.model_json_schema()))],
            "message": KafkaMessage, "return": None,
        }
        subscriber = broker.subscriber(
            topic,
            group_id=f"{self.topics.namespace}{self.service}.ingest.{department}",
            group_instance_id=f"{instance_id}.{department}" if instance_id else None,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(session_timeout_ms // 5, 1000),
            ack_policy=AckPolicy.NACK_ON_ERROR,  # commit after the append; on failure, read it again
            decoder=_raw,
            title=f"{topic}:{self.service}",
            description=f"Facts from {department} (envelopes, source dept:{department}). The {self.service} accepts {what}; {rest}",
        )
        subscriber(handle)


async def _stored(store: EventStore, event_id: uuid.UUID) -> bool:
    return bool(await store.pool.fetchval(f"SELECT 1 FROM {store.table} WHERE event_id = $1", event_id))


def _identity(body: bytes) -> dict[str, Any]:
    """The event id and type of a message, as far as they can be read."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # nested too deep for Python's parser: no identity to read
        return {}
    if not isinstance(document, dict):
        return {}
    event_type = document.get("event_type")
    return {"event_id": document.get("event_id"), "event_type": event_type if isinstance(event_type, str) else None}


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def masked(raw: bytes) -> str:
    """The message as text, with anything that looks like personal data masked."""

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return mask_personal_text(value)
        if isinstance(value, dict):
            return {k: "***" if str(k).lower() in PERSONAL_FIELDS else scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    try:
        return json.dumps(scrub(json.loads(raw)), ensure_ascii=False)
    except (ValueError, RecursionError):
        return mask_personal_text(raw.decode("utf-8", errors="replace"))


async def _raw(message: Any) -> bytes:
    return message.body  # the gate decides what the bytes are; FastStream must not refuse them first


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its ``$defs`` written in place (FastStream cannot follow them from a
    hand-given schema)."""
    definitions = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(dict(definitions[ref.removeprefix("#/$defs/")]))
            return {k: walk(v) for k, v in node.items()}
        return [walk(v) for v in node] if isinstance(node, list) else node

    return walk(schema)


def envelope_of(name: str, payloads: list[type[BaseModel]], description: str) -> type[BaseModel]:
    """A documentation model: the envelope, with the payload one of ``payloads``."""
    payload: Any = Union[tuple(payloads)] if len(payloads) > 1 else payloads[0]  # noqa: UP007
    return create_model(name, __base__=Envelope, __doc__=description, payload=(payload, ...))


def broker_logger(service: str) -> logging.Logger:
    """FastStream logs through the standard module, whose handler masks personal data."""
    return logging.getLogger(f"{service}.ingest")
