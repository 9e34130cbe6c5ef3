"""Reading a department's message, without I/O: ours to record (as the same command staff would
send), ours to refuse (naming each field at fault), or not ours at all.

Who answers for which message follows ``platform_kit.topics.INGEST_ROUTES``: the department's
gatekeeper (the first service its routes name) answers for the envelope — not JSON, not a valid
envelope, the wrong source, a type no service accepts; the owner of a routed type answers for a
valid envelope's payload and rules; every other service leaves the message alone. The registry,
health's gatekeeper, applies the same rule, so each message gets exactly one answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import Field, ValidationError

from platform_kit.catalogue import UnknownEventType, UnsupportedSchemaVersion
from platform_kit.contract import catalogue
from platform_kit.contract.services_log import ServiceDelivered, TrainingHeld
from platform_kit.envelope import Envelope
from platform_kit.logs import PERSONAL_FIELDS, mask_personal_text
from platform_kit.topics import INGEST_ROUTES, ingest_gatekeeper, ingest_owner
from services_log.domain.rejection import Rejection
from services_log.messages import Command, FieldProblem, RecordService, RecordTraining
from services_log.service_layer.recorder import VERDICT_FIELDS

SERVICE = "services-log"
HOSPITAL_CHECKS = ("pregnancy_check", "pre_pregnancy_health_check", "health_check_up")


class ServiceDeliveredFromHealth(Envelope):
    """A check done by a hospital (孕检, 孕前健康检查, 查体), as the health department sends it."""

    source: str = Field(pattern=r"^dept:health$")
    payload: ServiceDelivered


class TrainingHeldFromHr(Envelope):
    """A training, as the human-resources department sends it."""

    source: str = Field(pattern=r"^dept:hr$")
    payload: TrainingHeld


# What triage makes of a department message.
@dataclass(frozen=True, slots=True)
class Ignore:
    why: str


@dataclass(frozen=True, slots=True)
class Refuse:
    errors: list[FieldProblem]
    event_id: Any = None
    event_type: str | None = None


@dataclass(frozen=True, slots=True)
class Admit:
    message: Envelope
    command: Command


def triage(department: str, raw: bytes) -> Ignore | Refuse | Admit:
    """Read a department's message: ours to record, ours to refuse, or not ours at all.

    The department's gatekeeper answers for the envelope (not JSON, not a valid envelope, the
    wrong source, a type no service accepts); the owner of a routed type answers for a valid
    envelope's payload and rules; every other service leaves the message alone.
    """
    gatekeeper = ingest_gatekeeper(department) == SERVICE
    try:
        document = json.loads(raw)
    except ValueError as error:  # not UTF-8, or not JSON
        return _envelope_fault(gatekeeper, [FieldProblem(field="message", reason=f"not a JSON document ({error})")])
    identity = _identity(document)
    try:
        message = Envelope.model_validate(document)
    except ValidationError as error:
        return _envelope_fault(gatekeeper, _problems(error), **identity)
    identity["event_id"] = message.event_id
    if message.source != f"dept:{department}":
        reason = f"is {message.source}; ingest.{department} carries messages from dept:{department} only"
        return _envelope_fault(gatekeeper, [FieldProblem(field="source", reason=reason)], **identity)
    owner = ingest_owner(department, message.event_type)
    if owner is None:
        reason = (
            f"{message.event_type} is not accepted from {department} (accepted: {', '.join(INGEST_ROUTES[department])})"
        )
        return _envelope_fault(gatekeeper, [FieldProblem(field="event_type", reason=reason)], **identity)
    if owner != SERVICE:
        return Ignore(f"{message.event_type} from {department} is for {owner}")
    try:
        payload = catalogue.load(message)
    except ValidationError as error:
        return Refuse(_problems(error, prefix="payload"), **identity)
    except (UnsupportedSchemaVersion, UnknownEventType) as error:
        return Refuse([FieldProblem(field="schema_version", reason=str(error).split(": ", 1)[-1])], **identity)
    try:
        return Admit(message, _command(department, message, payload))
    except Rejection as rejection:
        return Refuse([FieldProblem(field=rejection.field, reason=rejection.reason)], **identity)
    except ValidationError as error:
        return Refuse(_problems(error, rename=message_field), **identity)


def _identity(document: Any) -> dict[str, Any]:
    """The event id and type of a message, as far as they can be read."""
    if not isinstance(document, dict):
        return {"event_id": None, "event_type": None}
    event_type = document.get("event_type")
    return {"event_id": document.get("event_id"), "event_type": event_type if isinstance(event_type, str) else None}


def _envelope_fault(gatekeeper: bool, problems: list[FieldProblem], **identity: Any) -> Ignore | Refuse:
    if gatekeeper:
        return Refuse(problems, **identity)
    return Ignore(f"{problems[0].field}: {problems[0].reason} (for the gatekeeper)")


def _command(department: str, message: Envelope, payload) -> Command:
    told_verdict = [field for field in sorted(VERDICT_FIELDS) if getattr(payload, field, None) is not None]
    if told_verdict:
        raise Rejection(
            f"payload.{told_verdict[0]}", "is decided by the services log from the registry's facts; leave it out"
        )
    if isinstance(payload, TrainingHeld):
        fields = payload.model_dump(exclude={"training_id"})
        return RecordTraining(
            training_id=payload.training_id, held_by_unit=message.unit_code, occurred_at=message.occurred_at, **fields
        )
    if isinstance(payload, ServiceDelivered):
        if payload.service_kind not in HOSPITAL_CHECKS:
            raise Rejection(
                "payload.service_kind",
                f"the health department reports checks done by hospitals ({', '.join(HOSPITAL_CHECKS)}); "
                f"{payload.service_kind} is recorded by the unit that delivered it",
            )
        if message.unit_code != payload.delivered_by_unit:
            raise Rejection("unit_code", "must be the unit the service counts for (payload.delivered_by_unit)")
        fields = payload.model_dump(exclude=VERDICT_FIELDS)
        return RecordService(occurred_at=message.occurred_at, **fields)
    raise Rejection("event_type", f"{message.event_type} from {department} has no command")  # a route without a mapping


def message_field(command_field: str) -> str:
    """Where a command's field sits in the department's message."""
    return {"occurred_at": "occurred_at", "held_by_unit": "unit_code"}.get(command_field, f"payload.{command_field}")


def _problems(error: ValidationError, *, prefix: str = "", rename=lambda field: field) -> list[FieldProblem]:
    # e["msg"] never repeats the input: a rejected value may be personal data.
    problems = []
    for e in error.errors():
        field = ".".join(str(part) for part in e["loc"]) or "message"
        problems.append(FieldProblem(field=rename(f"{prefix}.{field}" if prefix else field), reason=e["msg"]))
    return problems


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
    except ValueError:
        return mask_personal_text(raw.decode("utf-8", errors="replace"))
