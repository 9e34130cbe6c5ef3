"""The staff's HTTP API under /api: record what was delivered, read it back, see what waits
for the registry. 201 with the ids; 422 or 409 with the fields at fault and why."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from platform_kit.contract.common import UnitCode
from platform_kit.envelope import Envelope
from platform_kit.units import associations
from services_log.adapters import records
from services_log.adapters.registry_view import resident_now
from services_log.domain.records import ID_FIELD, stream_id
from services_log.domain.rejection import Rejection
from services_log.messages import (
    AssociationView,
    AwaitingResident,
    Command,
    FieldProblem,
    Problem,
    RecordAssociationActivity,
    Recorded,
    RecordService,
    RecordSurvey,
    RecordTraining,
    RecordView,
    ResidentView,
)
from services_log.service_layer.recorder import Recorder

INVALID = {422: {"model": Problem, "description": "Invalid: each field at fault, and why; nothing was written"}}
PROBLEMS = {
    409: {
        "model": Problem,
        "description": "Contradicts what is known (an id taken by another record, a departed resident)",
    },
    **INVALID,
}
PATHS = {
    "ServiceDelivered": "services",
    "SurveyRecorded": "surveys",
    "TrainingHeld": "trainings",
    "AssociationActivityHeld": "association-activities",
}


def http_router(recorder: Recorder) -> APIRouter:
    router = APIRouter(prefix="/api", responses=INVALID)

    async def record(command: Command, response: Response) -> Recorded:
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

    @router.post(
        "/services", status_code=201, responses=PROBLEMS, tags=["services"], summary="Record a service delivered"
    )
    async def record_service(command: RecordService, response: Response) -> Recorded:
        """A service (宣传教育, 避孕药具, 孕检, 孕前优生, 随访, 查体, 办证, 奖励优待, 六个一...) delivered by a
        unit's staff member to a resident or a household. 200 (replayed) when the same service_id
        with the same content was recorded before."""
        return await record(command, response)

    @router.post("/surveys", status_code=201, responses=PROBLEMS, tags=["surveys"], summary="Record a survey answer")
    async def record_survey(command: RecordSurvey, response: Response) -> Recorded:
        """One resident's answer to a policy or reproductive-health awareness survey."""
        return await record(command, response)

    @router.post(
        "/trainings", status_code=201, responses=PROBLEMS, tags=["trainings"], summary="Record a training held"
    )
    async def record_training(command: RecordTraining, response: Response) -> Recorded:
        """Who was trained, how many person-times (人次)."""
        return await record(command, response)

    @router.post(
        "/association-activities",
        status_code=201,
        responses=PROBLEMS,
        tags=["associations"],
        summary="Record an association's activity",
    )
    async def record_association_activity(command: RecordAssociationActivity, response: Response) -> Recorded:
        """An activity of one of the 13 associations; it counts for the association's host unit."""
        return await record(command, response)

    async def read(record_type: str, record_id: uuid.UUID) -> RecordView:
        events = await recorder.store.read_stream(stream_id(record_type, record_id))
        if not events:
            raise HTTPException(404, f"no {record_type} {record_id}")
        return _view(record_id, events)

    @router.get("/services/{service_id}", tags=["services"], summary="A service as it stands now")
    async def get_service(service_id: uuid.UUID) -> RecordView:
        return await read("ServiceDelivered", service_id)

    @router.get("/surveys/{survey_id}", tags=["surveys"], summary="A survey answer as it stands now")
    async def get_survey(survey_id: uuid.UUID) -> RecordView:
        return await read("SurveyRecorded", survey_id)

    @router.get("/trainings/{training_id}", tags=["trainings"], summary="A training")
    async def get_training(training_id: uuid.UUID) -> RecordView:
        return await read("TrainingHeld", training_id)

    @router.get("/association-activities/{activity_id}", tags=["associations"], summary="An association's activity")
    async def get_association_activity(activity_id: uuid.UUID) -> RecordView:
        return await read("AssociationActivityHeld", activity_id)

    @router.get("/awaiting-resident", tags=["residents"], summary="Records waiting for the registry's facts")
    async def awaiting_resident(
        unit_code: Annotated[UnitCode | None, Query(description="only this unit's records")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[AwaitingResident]:
        """Services and surveys recorded for residents the registry has not told us about yet,
        oldest first. Each leaves this list when the registry's event arrives."""
        waiting = await records.list_awaiting(recorder.pool, recorder.schema, unit_code=unit_code, limit=limit)
        return [
            AwaitingResident(
                record_type=r.record_type,
                id=r.record_id,
                stream_id=r.stream_id,
                resident_id=r.resident_id,
                unit_code=r.unit_code,
                occurred_at=r.occurred_at,
                recorded_at=r.recorded_at,
            )
            for r in waiting
        ]

    @router.get("/residents/{resident_id}", tags=["residents"], summary="What the services log knows of a resident")
    async def resident(resident_id: uuid.UUID) -> ResidentView:
        """From registry.events, as far as it has arrived: where they live now and since when, or
        that they left. Never personal data."""
        return ResidentView(**await resident_now(recorder.pool, recorder.schema, resident_id, recorder.clock()))

    @router.get("/associations", tags=["associations"], summary="The district's 13 associations")
    async def list_associations() -> list[AssociationView]:
        return [
            AssociationView(ref=a.ref, name=a.name, host_unit_code=a.host_unit_code, host_kind=a.host_kind)
            for a in associations()
        ]

    return router


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
    )


def install_problem_answers(app: FastAPI) -> None:
    """Every refusal answers the same way: a Problem naming each field and its reason."""

    @app.exception_handler(Rejection)
    async def rejected(_request: Request, rejection: Rejection) -> JSONResponse:
        status = 409 if rejection.conflict else 422
        title = "conflicts with what is already known" if rejection.conflict else "invalid"
        return _problem(status, title, [FieldProblem(field=rejection.field, reason=rejection.reason)])

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for e in error.errors():
            loc = [str(part) for part in e["loc"]]
            if e["type"] == "json_invalid" or loc == ["body"]:
                field = "body"
            else:
                field = ".".join(loc[1:] if loc[0] == "body" else loc)
            problems.append(FieldProblem(field=field, reason=e["msg"]))  # msg, never the input: it may be personal
        return _problem(422, "invalid", problems)


def _problem(status: int, title: str, errors: list[FieldProblem]) -> JSONResponse:
    return JSONResponse(Problem(status=status, title=title, errors=errors).model_dump(), status_code=status)
