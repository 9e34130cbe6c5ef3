"""The registry's published contract (AsyncAPI, OpenAPI) is what the code generates."""

from __future__ import annotations

import json

from platform_kit.contract import catalogue
from platform_kit.topics import INGEST_ROUTES
from registry.contract_docs import ASYNCAPI, OPENAPI, documents


def test_the_committed_documents_are_the_ones_the_code_generates():
    for path, text in documents().items():
        assert path.exists(), f"{path} is missing: run python -m registry.contract_docs"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run python -m registry.contract_docs"


def test_the_asyncapi_document_names_every_topic_and_event_type_of_the_registry():
    spec = json.loads(ASYNCAPI.read_text(encoding="utf-8"))
    addresses = {channel["address"] for channel in spec["channels"].values()}
    departments = {d for d, routes in INGEST_ROUTES.items() if "registry" in routes.values()}
    assert addresses == {"registry.events", "ingest.rejected", *(f"ingest.{d}" for d in departments)}
    registry_types = {t for t in catalogue.event_types if catalogue.model(t).__module__.endswith(".registry")}
    assert registry_types <= set(spec["components"]["schemas"])


def test_the_openapi_document_shows_every_command():
    paths = json.loads(OPENAPI.read_text(encoding="utf-8"))["paths"]
    commands = ["moves", "departure", "marital-status", "pregnancy-plans", "residence-permits", "births", "enrolments", "erasure"]
    assert all(f"/api/residents/{{resident_id}}/{c}" in paths for c in commands)
    assert "post" in paths["/api/residents"] and "get" in paths["/api/residents/{resident_id}"]
