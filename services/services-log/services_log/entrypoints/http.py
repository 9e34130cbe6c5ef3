"""The staff's HTTP API under /api: record what was delivered, read it back, see what waits for
the registry. 201 with the ids; every refusal a problem (RFC 9457) naming each field and why:
404 for a record that does not exist, 409 for a command that contradicts what is known, 422 for
an invalid one."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from platform_kit import problems
from platform_kit.auth import Principal, ensure_unit_scope, require_principal
from platform_kit.auth.http import forbidden
from platform_kit.contract.common import UnitCode
from platform_kit.envelope import Envelope
from platform_kit.runtime import ServiceRuntime, runtime_of
from platform_kit.units import associations, unit_tree
from services_log.adapters import records
from services_log.adapters.registry_view import resident_now
from services_log.domain.commands import (
    Command,
    CorrectService,
    RecordAssociationActivity,
    RecordService,
    RecordSurvey,
    RecordTraining,
)
from services_log.domain.records import ID_FIELD, stream_id
from services_log.entrypoints.views import AssociationView, AwaitingResident, Corrected, Recorded, RecordView, ResidentView
from services_log.service_layer.recorder import Recorder

PATHS = {
    "ServiceDelivered": "services",
    "SurveyRecorded": "surveys",
    "TrainingHeld": "trainings",
    "AssociationActivityHeld": "association-activities",
}
RECORDING = {
    200: {"model": Recorded, "description": "replayed: the same record (same id, same content) was recorded before"},
    **problems.responses(409, 422),
}
READING = problems.responses(404, 422)


def recorder_of(runtime: Annotated[ServiceRuntime, Depends(runtime_of)]) -> Recorder:
    assert runtime.declaration is not None
    return runtime.declaration.extra["recorder"]


RecorderDep = Annotated[Recorder, Depends(recorder_of)]
Caller = Annotated[Principal, Depends(require_principal)]
# The unit a command is recorded for: the caller must be allowed to write there.
RECORDED_FOR = {
    "RecordService": "delivered_by_unit", "RecordSurvey": "surveyed_by_unit", "RecordTraining": "held_by_unit",
}


def _may_record(caller: Principal, command: Command) -> None:
    """403 for a unit of the district outside the caller's; a unit or association that does not
    exist is the recorder's to refuse (422), with its reason, as before."""
    field = RECORDED_FOR.get(type(command).__name__)
    if field is not None:
        code = getattr(command, field)
    else:
        field = "association_ref"
        code = next((a.host_unit_code for a in associations() if a.ref == getattr(command, field, None)), None)
    tree = unit_tree()
    if code in tree and not caller.can_write_unit(code, tree):
        raise forbidden(f"{field}: {tree[code].name} is outside the units this token may change")

records_router = APIRouter(prefix="/api")
residents_router = APIRouter(prefix="/api")


async def _record(recorder: Recorder, command: Command, response: Response, caller: Principal) -> Recorded:
    _may_record(caller, command)
    outcome = await recorder.record(command)
    event = outcome.event
    record_id = uuid.UUID(str(event.payload[ID_FIELD[event.event_type]]))
    response.status_code = 201 if outcome.status == "recorded" else 200
    response.headers["Location"] = f"/api/{PATHS[event.event_type]}/{record_id}"
    return Recorded(
        id=record_id,
        record_type=event.event_type,
        stream_id=event.stream_id,
        event_id=event.event_id,
        stream_version=event.stream_version,
        residence=event.payload.get("residence"),
        resident_unit=event.payload.get("resident_unit"),
        replayed=outcome.status != "recorded",
    )


@records_router.post("/services", status_code=201, responses=RECORDING, tags=["services"], summary="Record a service delivered")
async def record_service(command: RecordService, response: Response, recorder: RecorderDep, caller: Caller) -> Recorded:
    """A service (宣传教育, 避孕药具, 孕检, 孕前优生, 随访, 查体, 办证, 奖励优待, 六个一...) delivered by a
    unit's staff member to a resident or a household. 200 (replayed) when the same service_id
    with the same content was recorded before."""
    return await _record(recorder, command, response, caller)


@records_router.post(
    "/services/{service_id}/corrections", status_code=201, responses=problems.responses(404, 409, 422),
    tags=["services"], summary="Correct a recorded service (withdraw it, or give its right kind)",
)
async def correct_service(service_id: uuid.UUID, command: CorrectService, recorder: RecorderDep, caller: Caller) -> Corrected:
    """History is never edited: a ``ServiceCorrected`` event follows the service on its stream,
    naming the event it corrects and why. Figures asked as known before it still show the original."""
    events = await recorder.store.read_stream(stream_id("ServiceDelivered", service_id))
    tree = unit_tree()
    if events and events[0].unit_code in tree and not caller.can_write_unit(events[0].unit_code, tree):
        raise forbidden(f"service_id: {tree[events[0].unit_code].name} is outside the units this token may change")
    event = await recorder.correct(service_id, command)
    return Corrected(event_id=event.event_id, corrects=event.payload["corrects"], stream_version=event.stream_version)


@records_router.post("/surveys", status_code=201, responses=RECORDING, tags=["surveys"], summary="Record a survey answer")
async def record_survey(command: RecordSurvey, response: Response, recorder: RecorderDep, caller: Caller) -> Recorded:
    """One resident's answer to a policy or reproductive-health awareness survey."""
    return await _record(recorder, command, response, caller)


@records_router.post("/trainings", status_code=201, responses=RECORDING, tags=["trainings"], summary="Record a training held")
async def record_training(command: RecordTraining, response: Response, recorder: RecorderDep, caller: Caller) -> Recorded:
    """Who was trained, how many person-times (人次)."""
    return await _record(recorder, command, response, caller)


@records_router.post(
    "/association-activities", status_code=201, responses=RECORDING, tags=["associations"],
    summary="Record an association's activity",
)
async def record_association_activity(
    command: RecordAssociationActivity, response: Response, recorder: RecorderDep, caller: Caller
) -> Recorded:
    """An activity of one of the 13 associations; it counts for the association's host unit."""
    return await _record(recorder, command, response, caller)


async def _read(recorder: Recorder, record_type: str, record_id: uuid.UUID, caller: Principal) -> RecordView:
    events = await recorder.store.read_stream(stream_id(record_type, record_id))
    # Another unit's record is answered as unknown: its existence is that unit's business.
    if not events or not caller.can_read_unit(events[0].unit_code, unit_tree()):
        raise problems.NotFound(ID_FIELD[record_type], f"no {record_type} {record_id}")
    return _view(record_id, events)


@records_router.get("/services/{service_id}", responses=READING, tags=["services"], summary="A service as it stands now")
async def get_service(service_id: uuid.UUID, recorder: RecorderDep, caller: Caller) -> RecordView:
    return await _read(recorder, "ServiceDelivered", service_id, caller)


@records_router.get("/surveys/{survey_id}", responses=READING, tags=["surveys"], summary="A survey answer as it stands now")
async def get_survey(survey_id: uuid.UUID, recorder: RecorderDep, caller: Caller) -> RecordView:
    return await _read(recorder, "SurveyRecorded", survey_id, caller)


@records_router.get("/trainings/{training_id}", responses=READING, tags=["trainings"], summary="A training")
async def get_training(training_id: uuid.UUID, recorder: RecorderDep, caller: Caller) -> RecordView:
    return await _read(recorder, "TrainingHeld", training_id, caller)


@records_router.get(
    "/association-activities/{activity_id}", responses=READING, tags=["associations"],
    summary="An association's activity",
)
async def get_association_activity(activity_id: uuid.UUID, recorder: RecorderDep, caller: Caller) -> RecordView:
    return await _read(recorder, "AssociationActivityHeld", activity_id, caller)


def queried_unit_in_scope(caller: Principal, unit_code: str, field: str = "unit_code") -> None:
    """A ``unit_code`` query parameter that names no unit is a bad question (422 naming it), as
    the other services answer it; one outside the caller's units is 403."""
    tree = unit_tree()
    if unit_code not in tree:
        raise problems.Refusal(field, f"is not a unit of {tree.district.name}")
    ensure_unit_scope(caller, unit_code, field=field)


@residents_router.get(
    "/awaiting-resident", responses=problems.responses(422), tags=["residents"],
    summary="Records waiting for the registry's facts",
)
async def awaiting_resident(
    recorder: RecorderDep,
    caller: Caller,
    unit_code: Annotated[UnitCode | None, Query(description="only this unit's records")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AwaitingResident]:
    """Services and surveys recorded for residents the registry has not told us about yet,
    oldest first. Each leaves this list when the registry's event arrives."""
    tree = unit_tree()
    if unit_code is not None:
        queried_unit_in_scope(caller, unit_code)
    everywhere = unit_code is not None or caller.role in ("district", "auditor")
    # A town or village without unit_code sees its own units' records (read wider, then kept).
    waiting = await records.list_awaiting(
        recorder.pool, recorder.schema, unit_code=unit_code, limit=limit if everywhere else 1000
    )
    waiting = [r for r in waiting if everywhere or caller.can_read_unit(r.unit_code, tree)][:limit]
    return [
        AwaitingResident(
            record_type=r.record_type, id=r.record_id, stream_id=r.stream_id, resident_id=r.resident_id,
            unit_code=r.unit_code, occurred_at=r.occurred_at, recorded_at=r.recorded_at,
        )
        for r in waiting
    ]


@residents_router.get(
    "/residents/{resident_id}", responses=problems.responses(404, 422), tags=["residents"],
    summary="What the services log knows of a resident",
)
async def resident(resident_id: uuid.UUID, recorder: RecorderDep, caller: Caller) -> ResidentView:
    """From registry.events, as far as it has arrived: where they live now and since when, or
    that they left (``known: false`` for a resident it has not heard of). Never personal data."""
    known = await resident_now(recorder.pool, recorder.schema, resident_id, recorder.clock())
    if known.get("unit_code") and not caller.can_read_unit(known["unit_code"], unit_tree()):
        # Where someone outside the caller's units lives is not theirs to know.
        raise problems.NotFound("resident_id", f"no resident {resident_id} in the caller's units")
    return ResidentView(**known)


@residents_router.get("/associations", tags=["associations"], summary="The district's 13 associations")
async def list_associations() -> list[AssociationView]:
    return [
        AssociationView(ref=a.ref, name=a.name, host_unit_code=a.host_unit_code, host_kind=a.host_kind)
        for a in associations()
    ]


def _view(record_id: uuid.UUID, events: list[Envelope]) -> RecordView:
    first, resolved = events[0], next((e for e in events if e.event_type == "ResidenceResolved"), None)
    latest = resolved.payload if resolved else first.payload
    return RecordView(
        id=record_id,
        record_type=first.event_type,
        stream_id=first.stream_id,
        unit_code=first.unit_code,
        source=first.source,
        occurred_at=first.occurred_at,
        recorded_at=first.recorded_at,
        stream_version=events[-1].stream_version,
        fields=first.payload,
        residence=latest.get("residence"),
        resident_unit=latest.get("resident_unit"),
        residence_resolved_at=resolved.recorded_at if resolved else None,
        corrections=[
            {"event_id": e.event_id, "recorded_at": e.recorded_at, **e.payload} for e in events if e.event_type == "ServiceCorrected"
        ],
    )
