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
  event store (``DuplicateEvent``). The topic is read in batches; a batch's offsets are
  committed once, after every message of it is decided (appended, a duplicate, rejected or
  ignored); a transient failure of the database or the broker leaves them uncommitted, so the
  batch is read again after a pause, and what it appended comes back as duplicates.
* **Order per person, concurrency across people**: a batch's messages with one Kafka key (or
  one department ``event_id``) are decided one after the other; the others at the same time
  (:mod:`platform_kit.key_order`), so that their appends meet in the store.
* **One rejection shape** (:class:`platform_kit.contract.ingest.IngestRejection`), every
  field at fault with its reason, the original with personal data masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Union

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ValidationError, WithJsonSchema, create_model

from platform_kit import tracing
from platform_kit.catalogue import EventCatalogue, UnknownEventType, UnsupportedSchemaVersion
from platform_kit.contract.ingest import FieldProblem, IngestRejection
from platform_kit.envelope import Envelope, utc_now
from platform_kit.event_store import ConcurrencyConflict, DuplicateEvent, EventStore
from platform_kit.key_order import chains, run_chains
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
        triaged = self._triage(department, body, topic, partition, offset)
        if isinstance(triaged, Verdict):
            return triaged
        return await self._deciding(department, triaged, body, topic, partition, offset, known=None)

    async def handle_batch(self, department: str, records: Sequence[Any], *, concurrency: int = 16,
                           decided: Callable[[Any, Verdict], Awaitable[None]] | None = None) -> list[Verdict]:
        """What becomes of each of a batch of Kafka records, :meth:`handle`'s verdicts.

        Records that share a key (one person's stream) or a department ``event_id`` (a resend)
        are decided one after the other in their order; the others at the same time, so that
        their appends meet in the store's group commit. Which were recorded before is asked
        once for the batch. ``decided`` is awaited with each record's verdict (a rejection is
        published) before the next record of its chain. Raises the first failure that is not a
        message's fault, once nothing of the batch is still running: then the batch must be
        read again, and what it accepted meanwhile comes back as duplicates."""
        triaged = [self._triage(department, r.value or b"", r.topic, r.partition, r.offset) for r in records]
        routed = [t for t in triaged if isinstance(t, Envelope)]
        store = self._store()
        known: set[uuid.UUID] = set()
        if store is not None and routed:
            known = await _stored_of(store, [fact_event_id(department, e.event_id, 0) for e in routed])
        verdicts: list[Verdict | None] = [t if isinstance(t, Verdict) else None for t in triaged]

        async def step(i: int) -> None:
            record, triage = records[i], triaged[i]
            with _continued(record):
                if isinstance(triage, Envelope):
                    verdicts[i] = await self._deciding(
                        department, triage, record.value or b"", record.topic, record.partition, record.offset, known=known
                    )
                if decided is not None:
                    await decided(record, verdicts[i])

        links = [
            [("key", r.partition, r.key)] + ([("event", t.event_id)] if isinstance(t, Envelope) else [])
            for r, t in zip(records, triaged, strict=True)
        ]
        await run_chains(chains(links), step, limit=concurrency)
        return verdicts  # type: ignore[return-value]  # run_chains raised unless every step set one

    def _triage(self, department: str, body: bytes, topic: str, partition: int, offset: int) -> Verdict | Envelope:
        """The message's verdict, when it needs no decision of this service; else its envelope."""
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
            return envelope
        except Exception as error:
            return self._parked(error, body, identity, topic, partition, offset)

    async def _deciding(self, department: str, envelope: Envelope, body: bytes, topic: str, partition: int, offset: int,
                        *, known: set[uuid.UUID] | None) -> Verdict:
        try:
            return await self._accept(department, envelope, body, topic, partition, offset, known=known)
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception as error:
            return self._parked(error, body, {"event_id": envelope.event_id, "event_type": envelope.event_type}, topic, partition, offset)

    def _parked(self, error: Exception, body: bytes, identity: dict, topic: str, partition: int, offset: int) -> Verdict:
        # A message this code cannot handle must not block its partition for ever: it is
        # parked on ingest.rejected, whole, and can be sent again once the code is fixed.
        log.error("ingest.unhandled", topic=topic, offset=offset, error=type(error).__name__)
        reason = f"the {self.service} failed on it ({type(error).__name__}); nothing was recorded, send it again later"
        return self._reject([FieldProblem(field="message", reason=reason)], body, identity, topic, partition, offset)

    async def _accept(self, department: str, envelope: Envelope, body: bytes, topic: str, partition: int, offset: int,
                      *, known: set[uuid.UUID] | None = None) -> Verdict:
        """``known``: the first event ids of the batch's facts recorded before it, kept up to date
        as the batch is decided (None: ask the store)."""
        identity = {"event_id": envelope.event_id, "event_type": envelope.event_type}
        first = fact_event_id(department, envelope.event_id, 0)
        if known is not None:
            if first in known:
                return Verdict("duplicate")
        elif (store := self._store()) is not None and await _stored(store, first):
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
                _remember(known, first)
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
            _remember(known, first)  # a resend later in the batch is a duplicate
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
        max_records: int = 500,
        batch_timeout_ms: int = 100,
        concurrency: int = 16,
    ) -> None:
        """One subscriber per department this service reads, and the ``ingest.rejected``
        publisher (on a broker that is never started: the declarations for the AsyncAPI document).

        Each subscriber reads batches of up to ``max_records`` (waiting at most
        ``batch_timeout_ms`` when nothing is there) and decides up to ``concurrency`` of a
        batch's records at a time (:meth:`handle_batch`)."""
        rejected = broker.publisher(
            self.topics.ingest_rejected, title=f"{self.topics.ingest_rejected}:{self.service}", schema=IngestRejection,
            description=f"Department messages the {self.service} could not accept, each with every field at fault "
            "and why. Key: the original message's key.",
        )
        for department in self.departments():
            self._subscribe(broker, rejected, department, instance_id, session_timeout_ms, retry_seconds,
                            max_records, batch_timeout_ms, concurrency)

    def _subscribe(self, broker: KafkaBroker, rejected: Any, department: str, instance_id: str | None,
                   session_timeout_ms: int, retry_seconds: float, max_records: int, batch_timeout_ms: int,
                   concurrency: int) -> None:
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

        async def publish_rejection(record: Any, verdict: Verdict) -> None:
            if verdict.rejection is not None:
                headers = {"field": verdict.rejection.field, "rejected_by": gate.service}
                await rejected.publish(verdict.rejection, key=record.key, headers=headers)

        async def handle(body: list[bytes], message: KafkaMessage) -> None:
            records = message.raw_message
            try:
                await gate.handle_batch(department, records, concurrency=concurrency, decided=publish_rejection)
            except Exception as error:
                # The database or the broker failed: not the messages' fault. Do not spin; no
                # offset of the batch is committed, FastStream seeks back to its first records
                # and the batch comes again (what it accepted meanwhile, as duplicates).
                first, last = records[0], records[-1]
                log.warning("ingest.retry", topic=first.topic, offsets=f"{first.offset}..{last.offset}", records=len(records),
                            error=f"{type(error).__name__}: {error}"[:300])
                await asyncio.sleep(retry_seconds)
                raise

        # Set here, not written in the signature: postponed annotations (this module's
        # ``from __future__ import annotations``) cannot name the local ``fact``. Each record
        # of the batch is one such fact: the schema is the message's, as a one-by-one
        # subscriber would document it.
        handle.__annotations__ = {
            "body": Annotated[list[bytes], WithJsonSchema(_inline(fact.model_json_schema()))],
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
            # One offset commit per batch, after every record of it is decided; on a failure
            # FastStream seeks back to the batch's first records, so it is read again.
            batch=True,
            max_records=max_records,
            batch_timeout_ms=batch_timeout_ms,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            decoder=_raw,
            title=f"{topic}:{self.service}",
            description=f"Facts from {department} (envelopes, source dept:{department}). The {self.service} accepts {what}; {rest}",
        )
        subscriber(handle)


async def _stored(store: EventStore, event_id: uuid.UUID) -> bool:
    return bool(await store.pool.fetchval(f"SELECT 1 FROM {store.table} WHERE event_id = $1", event_id))


async def _stored_of(store: EventStore, event_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``event_ids`` the store holds: one query for a batch."""
    rows = await store.pool.fetch(f"SELECT event_id FROM {store.table} WHERE event_id = ANY($1::uuid[])", event_ids)
    return {row["event_id"] for row in rows}


def _remember(known: set[uuid.UUID] | None, event_id: uuid.UUID) -> None:
    if known is not None:
        known.add(event_id)


@contextlib.contextmanager
def _continued(record: Any) -> Iterator[None]:
    """A record handled inside a batch continues its own department's trace, not the batch's
    (FastStream's telemetry gives a batch one span, linked to its messages)."""
    parent = tracing.header_of(record.headers)
    if parent is None:
        yield
        return
    span = tracing.start_span(f"{record.topic} process", parent, SpanKind.CONSUMER,
                              {"messaging.kafka.offset": record.offset, "messaging.kafka.partition": record.partition})
    with trace.use_span(span, end_on_exit=True):
        yield


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
