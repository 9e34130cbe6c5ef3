"""Department facts on ``ingest.<department>``: validated, deduplicated, decided, appended.

The registry accepts what ``platform_kit.topics.INGEST_ROUTES`` gives it, rejects to
``ingest.rejected`` what it is the gatekeeper of and no service accepts, and leaves alone what
another service accepts. A department's message is a full envelope (source
``dept:<department>``); it references residents by id and never carries personal data.

Exactly one effect per department message, across redeliveries and restarts:

* the stored events' ids are derived from the department's ``event_id`` (uuid5), so a
  message seen before is recognised by its first event id, and a race that slips past that
  check is refused by the store (``DuplicateEvent``);
* the Kafka offset is committed only after the append committed (or the rejection was
  acknowledged by Kafka); a crash in between redelivers the message, which is then a
  duplicate. Database or broker failures raise, and the message is read again.
"""


import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from pydantic import BaseModel, ValidationError, WithJsonSchema, create_model

from platform_kit.catalogue import UnknownEventType, UnsupportedSchemaVersion
from platform_kit.contract import catalogue
from platform_kit.contract import registry as contract_registry
from platform_kit.contract.registry import (
    BirthReported,
    ChildEnrolled,
    MaritalStatusChanged,
    ResidencePermitIssued,
    ResidentDeparted,
    ResidentMoved,
)
from platform_kit.envelope import Envelope
from platform_kit.event_store import ConcurrencyConflict, DuplicateEvent
from platform_kit.logs import get_logger, mask_personal_text
from platform_kit.projection import INFRASTRUCTURE_ERRORS
from platform_kit.topics import INGEST_ROUTES, Topics, ingest_gatekeeper, ingest_owner

from registry.domain.errors import DomainError
from registry.domain.time import Clock
from registry.messages import (
    ChangeMaritalStatus,
    DepartResident,
    EnrolChild,
    IngestRejection,
    IssueResidencePermit,
    MoveResident,
    ReportBirth,
    ResidentCommand,
)
from registry.service import Origin, Registry

log = get_logger(__name__)
SERVICE = "registry"
_NAMESPACE = uuid.UUID("0c6a1f8e-2d4b-4f6a-9b1e-7c3d5e8f9a20")


def departments() -> list[str]:
    """The departments whose topic the registry reads: it accepts some of their facts, or
    it is their gatekeeper."""
    return [d for d, routes in INGEST_ROUTES.items() if SERVICE in routes.values() or ingest_gatekeeper(d) == SERVICE]


@dataclass(frozen=True)
class Translation:
    """A department fact as the registry's own command on one resident."""

    resident_id: uuid.UUID
    resident_field: str  # the payload field that names the resident
    command: ResidentCommand
    proposed_child_id: uuid.UUID | None = None


def _translate(payload: BaseModel, event: Envelope) -> Translation:
    at = event.occurred_at
    match payload:
        case BirthReported():
            command = ReportBirth(
                birth_date=payload.birth_date, sex=payload.sex, reported_by=payload.reported_by, report_ref=payload.report_ref
            )
            return Translation(payload.mother_resident_id, "mother_resident_id", command, payload.child_resident_id)
        case ResidencePermitIssued():
            command = IssueResidencePermit(
                permit_ref=payload.permit_ref, issued_on=payload.issued_on, valid_until=payload.valid_until, occurred_at=at
            )
            return Translation(payload.resident_id, "resident_id", command)
        case ResidentMoved():
            command = MoveResident(to_unit=payload.to_unit, from_unit=payload.from_unit, occurred_at=at)
            return Translation(payload.resident_id, "resident_id", command)
        case ResidentDeparted():
            command = DepartResident(
                from_unit=payload.from_unit, destination_place=payload.destination_place, reason=payload.reason, occurred_at=at
            )
            return Translation(payload.resident_id, "resident_id", command)
        case ChildEnrolled():
            command = EnrolChild(
                school_name=payload.school_name, school_year=payload.school_year, grade=payload.grade, occurred_at=at
            )
            return Translation(payload.child_resident_id, "child_resident_id", command)
        case MaritalStatusChanged():
            command = ChangeMaritalStatus(marital_status=payload.marital_status, previous=payload.previous, occurred_at=at)
            return Translation(payload.resident_id, "resident_id", command)
    raise AssertionError(f"no translation for {type(payload).__name__}")  # INGEST_ROUTES and this list disagree


class Refused(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Verdict:
    outcome: Literal["accepted", "duplicate", "ignored", "rejected"]
    event_ids: tuple[uuid.UUID, ...] = ()
    rejection: IngestRejection | None = None


class DepartmentIngest:
    """Decides what becomes of one department message; knows nothing of Kafka's offsets."""

    def __init__(self, registry: Registry, clock: Clock, *, conflict_retries: int = 5) -> None:
        self.registry, self.clock, self.conflict_retries = registry, clock, conflict_retries

    async def handle(self, department: str, body: bytes, *, topic: str, partition: int, offset: int) -> Verdict:
        event: Envelope | None = None
        try:
            event = _envelope(body)
            if event.source != f"dept:{department}":
                raise Refused("source", f"is {event.source!r}; {topic} carries messages from dept:{department} only")
            owner = ingest_owner(department, event.event_type)
            if owner != SERVICE:
                if owner is None and ingest_gatekeeper(department) == SERVICE:
                    accepted = ", ".join(INGEST_ROUTES[department])
                    raise Refused("event_type", f"{event.event_type} is not accepted from {department} (accepted: {accepted})")
                return Verdict("ignored")
            return await self._accept(department, event)
        except Refused as refused:
            return self._reject(refused, body, event, topic=topic, partition=partition, offset=offset)
        except (*INFRASTRUCTURE_ERRORS, ConcurrencyConflict):
            raise  # not the message's fault: it is read again
        except Exception as error:
            # A message this code cannot handle must not block its partition for ever: it is
            # parked on ingest.rejected, whole, and can be sent again once the code is fixed.
            log.error("ingest.unhandled", topic=topic, offset=offset, error=type(error).__name__)
            refused = Refused("message", f"the registry could not handle it ({type(error).__name__})")
            return self._reject(refused, body, event, topic=topic, partition=partition, offset=offset)

    async def _accept(self, department: str, event: Envelope) -> Verdict:
        origin = _origin(department, event)
        if await self._stored(origin.event_id(0)):
            return Verdict("duplicate")
        try:
            payload = catalogue.load(event)
        except ValidationError as error:
            raise Refused(*_first_error(error, prefix="payload.")) from None
        except (UnknownEventType, UnsupportedSchemaVersion) as error:
            raise Refused("schema_version", str(error).partition(": ")[2]) from None
        try:
            translation = _translate(payload, event)
        except ValidationError as error:  # the contract allows what the registry's command does not
            raise Refused(*_first_error(error, prefix="payload.")) from None
        for attempt in range(1, self.conflict_retries + 1):
            try:
                outcome = await self._decide(translation, origin)
            except DuplicateEvent:
                return Verdict("duplicate")
            except ConcurrencyConflict:
                if attempt == self.conflict_retries:
                    raise
                continue  # the resident changed meanwhile: decide again on the new history
            except DomainError as error:
                raise Refused(_field(error.field, translation), error.reason) from None
            ids = tuple(e.event_id for e in outcome.events)
            log.info("ingest.accepted", department=department, event_type=event.event_type, dept_event_id=str(event.event_id), events=len(ids))
            return Verdict("accepted", ids)
        raise AssertionError("unreachable")

    async def _decide(self, t: Translation, origin: Origin) -> Any:
        if isinstance(t.command, ReportBirth) and t.proposed_child_id is not None:
            return await self.registry.report_birth(t.resident_id, t.command, origin, proposed_child_id=t.proposed_child_id)
        return await self.registry.decide(t.resident_id, t.command, origin)

    async def _stored(self, event_id: uuid.UUID) -> bool:
        store = self.registry.store
        return bool(await store.pool.fetchval(f"SELECT 1 FROM {store.table} WHERE event_id = $1", event_id))

    def _reject(
        self, refused: Refused, body: bytes, event: Envelope | None, *, topic: str, partition: int, offset: int
    ) -> Verdict:
        rejection = IngestRejection(
            rejected_at=self.clock(), topic=topic, partition=partition, offset=offset,
            event_id=event.event_id if event else None, event_type=event.event_type if event else None,
            field=refused.field, reason=refused.reason, original=mask_personal_text(body.decode("utf-8", "replace")),
        )
        log.warning("ingest.rejected", topic=topic, offset=offset, field=refused.field, reason=refused.reason)
        return Verdict("rejected", rejection=rejection)


def _envelope(body: bytes) -> Envelope:
    try:
        return Envelope.from_bytes(body)
    except ValidationError as error:
        raise Refused(*_first_error(error)) from None


def _first_error(error: ValidationError, prefix: str = "") -> tuple[str, str]:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    if first["type"] == "json_invalid":
        return "message", "is not a JSON envelope"
    return (prefix + where if where else "message"), first["msg"]


def _field(field: str, t: Translation) -> str:
    """Where, in the department's message, the refused field is."""
    if field == "occurred_at":
        return "occurred_at"
    if field == "resident_id":
        return f"payload.{t.resident_field}"
    return f"payload.{field}"


def _origin(department: str, event: Envelope) -> Origin:
    counter = iter(range(1_000_000))
    base = f"{department}:{event.event_id}"
    return Origin(
        source=f"dept:{department}",
        correlation_id=event.correlation_id or event.event_id,
        causation_id=event.event_id,
        event_id=lambda index: uuid.uuid5(_NAMESPACE, f"{base}:{index}"),
        new_id=lambda: uuid.uuid5(_NAMESPACE, f"{base}:id:{next(counter)}"),
    )


# ---- the FastStream side: one subscriber per department -----------------------------


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


def _envelope_of(name: str, payloads: list[type[BaseModel]], description: str) -> type[BaseModel]:
    """A documentation model: the envelope, with the payload one of ``payloads``."""
    payload: Any = Union[tuple(payloads)] if len(payloads) > 1 else payloads[0]  # noqa: UP007
    return create_model(name, __base__=Envelope, __doc__=description, payload=(payload, ...))


def registry_events_model() -> type[BaseModel]:
    payloads = [catalogue.model(t) for t in catalogue.event_types if catalogue.model(t).__module__ == contract_registry.__name__]
    return _envelope_of("RegistryEvent", payloads, "An event of the registry, as its outbox relay publishes it")


async def _raw(message: Any) -> bytes:
    return message.body  # the handler decides what the bytes are; FastStream must not refuse them first


def registry_broker(
    ingest: Callable[[], DepartmentIngest],
    bootstrap_servers: str,
    topics: Topics,
    *,
    instance_id: str | None = None,
    backoff_seconds: float = 1.0,
) -> KafkaBroker:
    """The registry's FastStream broker: the department subscribers and ``ingest.rejected``.
    ``ingest`` gives the handler once the service has started (the broker is built, and
    documented, before anything connects). ``registry.events`` is declared for the AsyncAPI
    document only: the kit's outbox relay publishes it."""
    broker = KafkaBroker(
        bootstrap_servers, client_id="registry-ingest", logger=logging.getLogger("registry.ingest"), log_level=logging.DEBUG
    )
    broker.publisher(
        topics.registry_events, title="registry.events:registry", schema=registry_events_model(),
        description="Who lives where: every event of the registry, key = stream_id, in stream order (outbox relay).",
    )
    rejected = broker.publisher(
        topics.ingest_rejected, title="ingest.rejected:registry", schema=IngestRejection,
        description="Department messages the registry cannot accept, with the field and the reason. Key: the original key.",
    )
    for department in departments():
        member = f"{instance_id}.{department}" if instance_id else None
        _subscribe(broker, rejected, ingest, topics, department, member, backoff_seconds)
    return broker


def _subscribe(
    broker: KafkaBroker, rejected: Any, ingest: Callable[[], DepartmentIngest], topics: Topics, department: str,
    member: str | None, backoff_seconds: float,
) -> None:
    topic = topics.ingest(department)
    accepted = [t for t, owner in INGEST_ROUTES[department].items() if owner == SERVICE]
    fact = _envelope_of(
        f"{department.title().replace('-', '')}Fact", [catalogue.model(t) for t in accepted], f"A fact from {department}"
    )

    @broker.subscriber(
        topic,
        group_id=f"{topics.namespace}registry.ingest.{department}",
        group_instance_id=member,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,  # commit after the append; on failure, read it again
        decoder=_raw,
        title=f"{topic}:registry",
        description=(
            f"Facts from {department} (envelopes, source dept:{department}). The registry accepts "
            f"{', '.join(accepted)}; " + ("it rejects any other type (it is the gatekeeper)." if ingest_gatekeeper(department) == SERVICE else "it ignores the others.")
        ),
    )
    async def handle(body: Annotated[bytes, WithJsonSchema(_inline(fact.model_json_schema()))], message: KafkaMessage) -> None:
        record = message.raw_message
        try:
            verdict = await ingest().handle(
                department, body, topic=record.topic, partition=record.partition, offset=record.offset
            )
        except Exception as error:
            log.error("ingest.failed", topic=record.topic, offset=record.offset, error=type(error).__name__)
            await asyncio.sleep(backoff_seconds)  # the database or broker is down: do not spin
            raise
        if verdict.rejection is not None:
            await rejected.publish(
                verdict.rejection, key=record.key, headers={"field": verdict.rejection.field, "rejected_by": SERVICE}
            )
