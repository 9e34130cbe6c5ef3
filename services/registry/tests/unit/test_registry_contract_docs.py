"""The registry's published contract (AsyncAPI, OpenAPI) is what the code generates."""

from __future__ import annotations

import json

from platform_kit.contract import catalogue
from platform_kit.contract_docs import CONTRACT, documents
from platform_kit.topics import INGEST_ROUTES, TASK_DEPARTMENTS, ingest_gatekeeper

from registry import bootstrap

ASYNCAPI = CONTRACT / "asyncapi" / "registry.json"
OPENAPI = CONTRACT / "openapi" / "registry.json"


def test_the_committed_documents_are_the_ones_the_code_generates():
    for relative, text in documents("registry", bootstrap).items():
        path = CONTRACT / relative
        hint = "run .venv/bin/python -m platform_kit.contract_docs --service registry"
        assert path.exists(), f"{path} is missing: {hint}"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: {hint}"


def test_the_asyncapi_document_names_every_topic_and_event_type_of_the_registry():
    spec = json.loads(ASYNCAPI.read_text(encoding="utf-8"))
    addresses = {channel["address"] for channel in spec["channels"].values()}
    departments = {d for d, routes in INGEST_ROUTES.items() if "registry" in routes.values() or ingest_gatekeeper(d) == "registry"}
    tasks = {f"tasks.{d}" for d in TASK_DEPARTMENTS}  # what it sends back to departments
    assert addresses == {"registry.events", "services.events", "ingest.rejected", *(f"ingest.{d}" for d in departments), *tasks}
    registry_types = {t for t in catalogue.event_types if catalogue.model(t).__module__.endswith(".registry")}
    assert registry_types <= set(spec["components"]["schemas"])


def test_the_openapi_document_shows_every_command_and_its_problems():
    paths = json.loads(OPENAPI.read_text(encoding="utf-8"))["paths"]
    commands = ["moves", "departure", "marital-status", "pregnancy-plans", "residence-permits", "births", "enrolments", "erasure"]
    for c in commands:
        answers = paths[f"/api/residents/{{resident_id}}/{c}"]["post"]["responses"]
        assert {"404", "409", "422"} <= set(answers), c
        assert "application/problem+json" in answers["404"]["content"]
    assert "post" in paths["/api/residents"] and "get" in paths["/api/residents/{resident_id}"]
    assert set(paths["/api/residents/lookup"]) == {"post"}
