"""The services log's rules: given what the registry has told us and a command, which event —
or a refusal naming the field and the reason (the kit's ``Refusal``; ``Conflict`` when the
command is well formed but contradicts what is known). The same rules judge staff (HTTP) and
departments (ingest). Pure: the clock and the ids come in as arguments."""

from __future__ import annotations

import uuid
from datetime import datetime

from platform_kit.contract.services_log import (
    AssociationActivityHeld,
    ResidenceResolved,
    ServiceCorrected,
    ServiceDelivered,
    SurveyRecorded,
    TrainingHeld,
)
from platform_kit.calendar import CLOCK_SKEW, local_date
from platform_kit.envelope import Envelope
from platform_kit.logs import mask_personal_text
from platform_kit.problems import Conflict, NotFound, Refusal
from platform_kit.units import associations, unit_tree
from services_log.domain.commands import (
    CorrectService,
    RecordAssociationActivity,
    RecordService,
    RecordSurvey,
    RecordTraining,
)
from services_log.domain.records import AwaitingRecord, NewEvent, stream_id
from services_log.domain.residence import ResidentFacts, place

WOMEN_ONLY = frozenset({"pregnancy_check"})  # 孕情/孕检


def decide_service(
    command: RecordService, resident: ResidentFacts | None, *, service_id: uuid.UUID, now: datetime
) -> NewEvent:
    _known_unit("delivered_by_unit", command.delivered_by_unit)
    _not_in_future(command.occurred_at, now)
    _detail_fits_kind(command)
    if command.resident_id is None and command.household_ref is None:
        raise Refusal("resident_id", "a service goes to a resident or a household: give resident_id or household_ref")
    _no_personal_data(
        staff_ref=command.staff_ref, household_ref=command.household_ref, cross_unit_reason=command.cross_unit_reason
    )
    residence, resident_unit = _residence(resident, command.resident_id, command.delivered_by_unit, command.occurred_at)
    if resident is not None:
        _born_by(resident, command.occurred_at)
        if command.service_kind in WOMEN_ONLY and resident.sex == "male":
            raise Refusal(
                "service_kind", f"{command.service_kind} is for women; the registry has this resident as male"
            )
    payload = ServiceDelivered(
        service_id=service_id,
        **command.model_dump(exclude={"service_id", "occurred_at"}),
        residence=residence,
        resident_unit=resident_unit,
    )
    return _opening("ServiceDelivered", service_id, command.delivered_by_unit, command.occurred_at, payload, residence)


def decide_survey(
    command: RecordSurvey, resident: ResidentFacts | None, *, survey_id: uuid.UUID, now: datetime
) -> NewEvent:
    _known_unit("surveyed_by_unit", command.surveyed_by_unit)
    _not_in_future(command.occurred_at, now)
    _no_personal_data(staff_ref=command.staff_ref)
    residence, resident_unit = _residence(resident, command.resident_id, command.surveyed_by_unit, command.occurred_at)
    if resident is not None:
        _born_by(resident, command.occurred_at)
    payload = SurveyRecorded(
        survey_id=survey_id,
        survey_kind=command.survey_kind,
        resident_id=command.resident_id,
        aware=command.aware,
        staff_ref=command.staff_ref,
        residence=residence,
        resident_unit=resident_unit,
    )
    return _opening("SurveyRecorded", survey_id, command.surveyed_by_unit, command.occurred_at, payload, residence)


def decide_training(command: RecordTraining, *, training_id: uuid.UUID, now: datetime) -> NewEvent:
    _known_unit("held_by_unit", command.held_by_unit)
    _not_in_future(command.occurred_at, now)
    _no_personal_data(topic=command.topic, **{f"trainee_refs.{i}": ref for i, ref in enumerate(command.trainee_refs)})
    trainees = len(set(command.trainee_refs))
    if command.person_times < trainees:
        raise Refusal(
            "person_times",
            f"{command.person_times} is fewer than the {trainees} trainees named: each counts at least once",
        )
    payload = TrainingHeld(
        training_id=training_id,
        topic=command.topic,
        person_times=command.person_times,
        trainee_refs=list(command.trainee_refs),
        audience=command.audience,
    )
    return _opening("TrainingHeld", training_id, command.held_by_unit, command.occurred_at, payload, None)


def decide_association_activity(
    command: RecordAssociationActivity, *, activity_id: uuid.UUID, now: datetime
) -> NewEvent:
    hosts = {association.ref: association.host_unit_code for association in associations()}
    if command.association_ref not in hosts:
        raise Refusal("association_ref", f"{command.association_ref!r} is not one of the district's 13 associations")
    _not_in_future(command.occurred_at, now)
    _no_personal_data(activity=command.activity)
    payload = AssociationActivityHeld(
        activity_id=activity_id,
        association_ref=command.association_ref,
        activity=command.activity,
        participants=command.participants,
    )
    unit = hosts[command.association_ref]
    return _opening("AssociationActivityHeld", activity_id, unit, command.occurred_at, payload, None)


def resolve_residence(record: AwaitingRecord, resident: ResidentFacts) -> NewEvent:
    """The registry has now told us of the resident a record was waiting for: place it."""
    placement = place(resident, record.unit_code, record.occurred_at)
    payload = ResidenceResolved(
        record_type=record.record_type,
        record_id=record.record_id,
        resident_id=record.resident_id,
        residence=placement.residence,
        resident_unit=placement.resident_unit,
    )
    return NewEvent(
        "ResidenceResolved", record.stream_id, record.stream_version + 1, record.unit_code, record.occurred_at, payload
    )


def _opening(
    record_type: str, record_id: uuid.UUID, unit: str, occurred_at: datetime, payload, residence: str | None
) -> NewEvent:
    awaits = payload.resident_id if residence == "not_yet_known" else None
    return NewEvent(record_type, stream_id(record_type, record_id), 1, unit, occurred_at, payload, awaits)


def _residence(
    resident: ResidentFacts | None, resident_id: uuid.UUID | None, unit: str, at: datetime
) -> tuple[str | None, str | None]:
    if resident_id is None:
        return None, None
    if resident is None:
        return "not_yet_known", None  # the registry's event may simply not have arrived yet
    placement = place(resident, unit, at)
    if placement.residence == "departed":
        raise Conflict(
            "resident_id",
            f"the resident left the district on {local_date(placement.departed_on):%Y-%m-%d}, "
            "before occurred_at; register them again if they came back",
        )
    return placement.residence, placement.resident_unit


def _known_unit(field: str, code: str) -> None:
    if code not in unit_tree():
        raise Refusal(field, f"{code} is not a unit of {unit_tree().district.name}")


def _not_in_future(occurred_at: datetime, now: datetime) -> None:
    if occurred_at > now + CLOCK_SKEW:
        raise Refusal("occurred_at", f"{occurred_at.isoformat()} is in the future (now is {now.isoformat()})")


def _born_by(resident: ResidentFacts, occurred_at: datetime) -> None:
    if resident.birth_date is not None and local_date(occurred_at) < resident.birth_date:
        raise Refusal("occurred_at", "is before the resident was born")


def _detail_fits_kind(command: RecordService) -> None:
    details = (("six_ones_item", "six_ones"), ("certificate_mode", "certificate_handling"))
    for field, kind in details:
        given = getattr(command, field) is not None
        if command.service_kind == kind and not given:
            raise Refusal(field, f"required when service_kind is {kind}")
        if command.service_kind != kind and given:
            raise Refusal(field, f"only for service_kind {kind}, not {command.service_kind}")


def _no_personal_data(**texts: str | None) -> None:
    for field, text in texts.items():
        if text is not None and mask_personal_text(text) != text:
            raise Refusal(field, "looks like an ID number or a phone number; personal data is never recorded here")


def decide_correction(command: CorrectService, service_id: uuid.UUID, stored: list[Envelope], *, now: datetime) -> Envelope:
    """The correction of a recorded service, on the service's own stream, naming the event it
    corrects. At the corrected service's business time (it speaks of then), recorded now."""
    if not stored or stored[0].event_type != "ServiceDelivered":
        raise NotFound("service_id", f"no service {service_id}")
    if command.withdrawn == (command.service_kind is not None):
        raise Refusal("withdrawn", "give exactly one correction: withdrawn = true, or the right service_kind")
    original = stored[0]
    if command.service_kind == original.payload["service_kind"]:
        raise Refusal("service_kind", f"the service is recorded as {command.service_kind} already")
    payload = ServiceCorrected(
        service_id=service_id, corrects=original.event_id, resident_id=original.payload.get("resident_id"),
        reason=command.reason, withdrawn=command.withdrawn, service_kind=command.service_kind, staff_ref=command.staff_ref,
    )
    return Envelope.new(
        event_type="ServiceCorrected", stream_id=original.stream_id, stream_version=stored[-1].stream_version + 1,
        unit_code=original.unit_code, source="services-log", payload=payload.model_dump(mode="json"),
        occurred_at=original.occurred_at, recorded_at=now, correlation_id=original.correlation_id,
        causation_id=original.event_id,
    )
