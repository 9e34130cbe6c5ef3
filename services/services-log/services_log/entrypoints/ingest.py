"""Department facts in: checks done by hospitals (``ingest.health``), trainings from human
resources (``ingest.hr``). The kit's gate reads the topics, triages, drops duplicates, retries
and publishes every refusal on ``ingest.rejected``; what is the services log's own is here: which
facts a department may tell, and the command each becomes (the same one staff would send)."""

from __future__ import annotations

from pydantic import ValidationError

from platform_kit.contract.services_log import ServiceDelivered, TrainingHeld
from platform_kit.gate import Accept, DepartmentFact
from platform_kit.problems import Refusal
from services_log.domain.commands import Command, RecordService, RecordTraining
from services_log.service_layer.recorder import VERDICT_FIELDS, Origin, Recorder

HOSPITAL_CHECKS = ("pregnancy_check", "pre_pregnancy_health_check", "health_check_up")


def translate(fact: DepartmentFact) -> Command:
    """The command a department's fact asks for, or Refusal naming the field as the department
    sent it (``payload.<field>``, ``unit_code``, ``occurred_at``)."""
    payload, envelope = fact.payload, fact.envelope
    told_verdict = [field for field in sorted(VERDICT_FIELDS) if getattr(payload, field, None) is not None]
    if told_verdict:
        raise Refusal(
            f"payload.{told_verdict[0]}", "is decided by the services log from the registry's facts; leave it out"
        )
    try:
        if isinstance(payload, TrainingHeld):
            fields = payload.model_dump(exclude={"training_id"})
            return RecordTraining(
                training_id=payload.training_id, held_by_unit=envelope.unit_code, occurred_at=envelope.occurred_at,
                **fields,
            )
        if isinstance(payload, ServiceDelivered):
            if payload.service_kind not in HOSPITAL_CHECKS:
                raise Refusal(
                    "payload.service_kind",
                    f"the health department reports checks done by hospitals ({', '.join(HOSPITAL_CHECKS)}); "
                    f"{payload.service_kind} is recorded by the unit that delivered it",
                )
            if envelope.unit_code != payload.delivered_by_unit:
                raise Refusal("unit_code", "must be the unit the service counts for (payload.delivered_by_unit)")
            return RecordService(occurred_at=envelope.occurred_at, **payload.model_dump(exclude=VERDICT_FIELDS))
    except ValidationError as error:  # the contract allows what the command does not
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "message"
        raise Refusal(message_field(field), first["msg"]) from None  # msg, never the input: it may be personal
    # A route in INGEST_ROUTES without a translation here.
    raise Refusal("event_type", f"{envelope.event_type} from {fact.department} has no command")


def message_field(command_field: str) -> str:
    """Where a command's field sits in the department's message."""
    return {"occurred_at": "occurred_at", "held_by_unit": "unit_code"}.get(command_field, f"payload.{command_field}")


def accepting(recorder: Recorder) -> Accept:
    """The services log's ``accept``: translate the fact, then record it as staff's command would
    be, its event id derived from the department's (so a redelivery is a duplicate)."""

    async def accept(fact: DepartmentFact) -> None:
        command = translate(fact)
        try:
            await recorder.record(command, Origin.department(fact))
        except Refusal as refusal:
            raise type(refusal)(message_field(refusal.field), refusal.reason, kind=refusal.kind) from None

    return accept
