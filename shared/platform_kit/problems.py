"""One way to say no over HTTP, for every service: RFC 9457 problem details.

A refusal names each field at fault and why, in words a village manager can act on, and
nothing was written. The domain raises :class:`Refusal` (or :class:`NotFound`,
:class:`Conflict`); the kit turns it, a request that does not validate, an unknown route and
any unexpected failure into the same ``application/problem+json`` body::

    {"type": "about:blank", "title": "invalid", "status": 422,
     "detail": "payload.person_times: must be at least 1",
     "errors": [{"field": "payload.person_times", "reason": "must be at least 1"}]}

The rejected value is never echoed back: it may be personal data.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import asyncpg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from platform_kit.contract.ingest import FieldProblem
from platform_kit.event_store import ConcurrencyConflict, DuplicateEvent
from platform_kit.logs import get_logger

log = get_logger(__name__)

MEDIA_TYPE = "application/problem+json"
_INNER_FIELD = re.compile(r"^Value error, ([A-Za-z_][\w.\[\]]*): (.+)$", re.DOTALL)
# FastAPI's detail when a body cannot be decoded at all (not UTF-8): it raises a bare 400.
BODY_NOT_PARSED = "There was an error parsing the body"
Kind = Literal["invalid", "not_found", "conflict", "unavailable"]
STATUS: dict[str, int] = {"invalid": 422, "not_found": 404, "conflict": 409, "unavailable": 503}
TITLE: dict[int, str] = {
    400: "bad request",
    401: "sign-in required",
    403: "not allowed",
    404: "not found",
    405: "method not allowed",
    409: "conflicts with what is already known",
    413: "too large",
    422: "invalid",
    429: "too many requests",
    500: "internal error",
    503: "unavailable",
}


class Refusal(Exception):
    """A command or a question refused as it stands; nothing was written.

    ``kind`` says which answer it gets: ``invalid`` (422, the request itself is wrong),
    ``not_found`` (404, it names something that does not exist), ``conflict`` (409, well formed
    but contradicts what is already known), ``unavailable`` (503, try again later)."""

    kind: Kind = "invalid"

    def __init__(self, field: str, reason: str, *, kind: Kind | None = None, **extensions: Any) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason
        # RFC 9457 extension members: what the caller needs to act on it (an existing id...).
        self.extensions: dict[str, Any] = extensions
        if kind is not None:
            self.kind = kind

    @property
    def status(self) -> int:
        return STATUS[self.kind]


class NotFound(Refusal):
    kind: Kind = "not_found"


class Conflict(Refusal):
    kind: Kind = "conflict"


class Problem(BaseModel):
    """Every answer that is not a success (RFC 9457): which fields, and why. Nothing was written."""

    type: str = Field("about:blank", description="a URI naming the kind of problem; about:blank: the status says it")
    title: str = Field(description="the status in words")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="the first problem, as one sentence")
    errors: list[FieldProblem] = Field(description="every field at fault, with its reason")


def problem(
    status: int, errors: list[FieldProblem], *, headers: dict[str, str] | None = None, extensions: dict[str, Any] | None = None
) -> JSONResponse:
    """The problem body; ``extensions`` are extra members (RFC 9457 §3.2), never replacing a standard one."""
    first = errors[0]
    body = Problem(title=TITLE.get(status, "error"), status=status, detail=f"{first.field}: {first.reason}", errors=errors)
    content = {**jsonable_encoder(extensions or {}), **body.model_dump(mode="json")}
    return JSONResponse(content, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def field_problems(errors: list[dict[str, Any]], *, drop_prefix: tuple[str, ...] = ("body",)) -> list[FieldProblem]:
    """Pydantic's errors as field problems: ``msg``, never ``input`` (it may be personal)."""
    problems = []
    for e in errors:
        loc = [str(part) for part in e.get("loc", ())]
        if e.get("type") == "json_invalid":
            problems.append(FieldProblem(field="body", reason="is not valid JSON"))
            continue
        if loc and loc[0] in drop_prefix and len(loc) > 1:
            loc = loc[1:]
        field, reason = ".".join(loc) or "body", e.get("msg", "is invalid")
        # A validator that looked inside a field names the place it found at fault
        # ("payload.permit_ref: contains a NUL ..."): that place is the field.
        inner = _INNER_FIELD.match(reason)
        if inner and loc and inner.group(1).split(".")[0].split("[")[0] == loc[-1]:
            field = ".".join([*loc[:-1], inner.group(1)])
            reason = inner.group(2)
        problems.append(FieldProblem(field=field, reason=reason))
    return problems or [FieldProblem(field="body", reason="is invalid")]


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The problem answers a route can give, for its OpenAPI ``responses``."""
    return {
        status: {"model": Problem, "description": TITLE.get(status, "error"), "content": {MEDIA_TYPE: {}}}
        for status in statuses
    }


def install(app: FastAPI) -> None:
    """Every failure of ``app`` answers as a problem; none turns odd input into a bare 500."""

    @app.exception_handler(Refusal)
    async def refused(_request: Request, refusal: Refusal) -> JSONResponse:
        errors = [FieldProblem(field=refusal.field, reason=refusal.reason)]
        return problem(refusal.status, errors, extensions=refusal.extensions)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        return problem(422, field_problems(list(error.errors())))

    @app.exception_handler(ValidationError)
    async def invalid_model(_request: Request, error: ValidationError) -> JSONResponse:
        # A model built inside a handler from request values (a command from a path and a body).
        return problem(422, field_problems(list(error.errors())))

    @app.exception_handler(ConcurrencyConflict)
    async def concurrent(_request: Request, error: ConcurrencyConflict) -> JSONResponse:
        reason = "changed meanwhile by another request; read it again and retry"
        versions = {"stream_id": error.stream_id, "expected_version": error.expected, "actual_version": error.actual}
        return problem(409, [FieldProblem(field="stream_version", reason=reason)], extensions=versions)

    @app.exception_handler(DuplicateEvent)
    async def duplicate(_request: Request, _error: DuplicateEvent) -> JSONResponse:
        return problem(409, [FieldProblem(field="event_id", reason="this event is recorded already")])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400 and error.detail == BODY_NOT_PARSED:
            # Bytes FastAPI cannot even decode: the same documented 422 as malformed JSON.
            return problem(422, [FieldProblem(field="body", reason="is not valid JSON (or not UTF-8)")])
        if isinstance(error.detail, list) and error.detail and isinstance(error.detail[0], dict):
            errors = field_problems(error.detail)
        else:
            where = "path" if error.status_code in (404, 405) else "request"
            text = error.detail if isinstance(error.detail, str) else TITLE.get(error.status_code, "error")
            if error.status_code == 404 and text == "Not Found":
                text = f"no such resource: {request.url.path}"
            errors = [FieldProblem(field=where, reason=text)]
        return problem(error.status_code, errors, headers=getattr(error, "headers", None))

    @app.exception_handler(asyncpg.DataError)
    async def unstorable(_request: Request, error: asyncpg.DataError) -> JSONResponse:
        # Odd input that got past validation (a value PostgreSQL cannot store): refused, not a 500.
        log.warning("http.unstorable_input", error=type(error).__name__)
        return problem(422, [FieldProblem(field="body", reason="holds a value that cannot be stored")])

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> JSONResponse:
        log.error("http.failed", path=request.url.path, error=type(error).__name__)
        return problem(500, [FieldProblem(field="request", reason="the service failed on it; nothing was written")])

    _document(app)


def _document(app: FastAPI) -> None:
    """In the OpenAPI document, every 422 is a Problem (not FastAPI's own validation shape)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
        for definition in Problem.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {}).items():
            schemas.setdefault(*definition)
        schemas["Problem"].pop("$defs", None)
        reference = {"$ref": "#/components/schemas/Problem"}
        for path in document.get("paths", {}).values():
            for operation in path.values():
                answers = operation.get("responses", {})
                for status, answer in answers.items():
                    if status.startswith(("4", "5")):
                        answer["content"] = {MEDIA_TYPE: {"schema": reference}}
                if "422" in answers:
                    answers["422"]["description"] = "invalid: each field at fault, with its reason"
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
