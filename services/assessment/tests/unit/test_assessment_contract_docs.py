"""The published AsyncAPI and OpenAPI documents are the ones the code generates.
After a change: ``.venv/bin/python -m assessment.contract_docs``."""

from __future__ import annotations

from assessment.contract_docs import ASYNCAPI, OPENAPI, asyncapi, openapi, render

REGENERATE = "out of date: run .venv/bin/python -m assessment.contract_docs"


def test_the_committed_asyncapi_document_is_what_faststream_generates():
    assert ASYNCAPI.read_text(encoding="utf-8") == render(asyncapi()), REGENERATE


def test_the_committed_openapi_document_is_what_fastapi_generates():
    assert OPENAPI.read_text(encoding="utf-8") == render(openapi()), REGENERATE


def test_the_asyncapi_document_says_what_is_consumed_and_published():
    channels = {c["address"] for c in asyncapi()["channels"].values()}
    assert channels == {"registry.events", "services.events", "assessment.events"}


def test_every_read_endpoint_takes_both_clocks():
    for path, item in openapi()["paths"].items():
        if path.startswith("/api/") and "get" in item and path not in {"/api/units", "/api/indicators", "/api/rules", "/api/rectifications"}:
            names = {p["name"] for p in item["get"].get("parameters", [])}
            assert {"as_of", "known_at"} <= names, path
