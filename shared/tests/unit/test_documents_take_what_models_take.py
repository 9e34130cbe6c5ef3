"""What a service's OpenAPI document calls a valid field, the service's own model takes.

schemathesis finds such gaps by chance, one generated request in thousands (CI once met a
name of one vertical tab: one character, so valid by ``minLength: 1``, and empty once the
model had stripped it). Here every string field of every request body is tried with the
values that fall between a document and a stripping model: white space alone, at the
shortest length the document allows. Where the document accepts the value, the model must
raise nothing about that field but its own sentences (a value error), which the fuzz too
reads as a business refusal.
"""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from platform_kit.contract_docs import build_documented, services

pytestmark = pytest.mark.unit

BLANKS = ("\u000b", " ", "\t", "\u3000", "\n")


def _routes(routes) -> list[APIRoute]:
    """Every API route, those of included routers too (FastAPI keeps them behind a wrapper)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(_routes(route.original_router.routes))
    return found


def _bodies() -> list[tuple[str, str, type[BaseModel]]]:
    found = {}
    for name, bootstrap in services().items():
        for route in _routes(build_documented(bootstrap).app.routes):
            if route.body_field is not None:
                model = route.body_field.field_info.annotation
                if isinstance(model, type) and issubclass(model, BaseModel):
                    found[f"{name} {model.__name__}"] = (name, route.path, model)
    return [found[key] for key in sorted(found)]


BODIES = _bodies()


def _string_fields(model: type[BaseModel]) -> list[tuple[str, dict]]:
    properties = model.model_json_schema(mode="validation").get("properties", {})
    fields = []
    for field, schema in properties.items():
        for option in schema.get("anyOf", [schema]):
            if option.get("type") == "string" and "format" not in option and "enum" not in option:
                fields.append((field, option))
    return fields


def test_there_are_request_bodies_with_text_to_check():
    assert len(BODIES) >= 20, [m.__name__ for _, _, m in BODIES]
    assert sum(len(_string_fields(m)) for _, _, m in BODIES) >= 30


@pytest.mark.parametrize(("service", "path", "model"), BODIES, ids=lambda v: v.__name__ if isinstance(v, type) else v)
def test_white_space_the_document_accepts_is_not_refused_as_malformed(service, path, model):
    gaps = []
    for field, schema in _string_fields(model):
        validator = Draft202012Validator(schema)
        alias = model.model_fields[field].alias if field in model.model_fields else None
        for blank in BLANKS:
            value = blank * max(1, schema.get("minLength", 0))
            if not validator.is_valid(value):
                continue  # the document refuses it too: a refusal is what it promised
            try:
                model.model_validate({alias or field: value})
            except ValidationError as error:
                said = [e["msg"] for e in error.errors() if e["loc"][:1] == (alias or field,) and e["type"] not in ("missing", "value_error")]
                if said:
                    gaps.append(f"{field}={value!r}: {said}")
    assert not gaps, f"{service} {path}: the document accepts what the model refuses: {gaps}"
