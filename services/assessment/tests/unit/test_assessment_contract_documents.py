"""The published AsyncAPI and OpenAPI documents are the ones the code generates, and they say
what the code does. After a change: ``.venv/bin/python -m platform_kit.contract_docs --service assessment``."""

from __future__ import annotations

import json

import pytest

from assessment import bootstrap
from assessment.domain.periods import PERIOD_PATTERN
from platform_kit.contract_docs import CONTRACT, documents

REGENERATE = "out of date: run .venv/bin/python -m platform_kit.contract_docs --service assessment"
GENERATED = documents("assessment", bootstrap)


@pytest.mark.parametrize("relative", sorted(GENERATED))
def test_the_committed_document_is_what_the_code_generates(relative):
    assert (CONTRACT / relative).read_text(encoding="utf-8") == GENERATED[relative], REGENERATE


def openapi() -> dict:
    return json.loads(GENERATED["openapi/assessment.json"])


def asyncapi() -> dict:
    return json.loads(GENERATED["asyncapi/assessment.json"])


def operation(method: str, path: str) -> dict:
    return openapi()["paths"][path][method]


def test_the_asyncapi_document_says_what_is_consumed_and_published():
    channels = {c["address"] for c in asyncapi()["channels"].values()}
    assert channels == {"registry.events", "services.events", "assessment.events"}


def test_every_read_endpoint_takes_both_clocks():
    for path, item in openapi()["paths"].items():
        if path.startswith("/api/") and "get" in item and path not in {
            "/api/units", "/api/indicators", "/api/rules",
            "/api/rectifications/documents/{sha256}",  # a document's bytes: the same on any clock
            "/api/network", "/api/network.csv",  # the services log's, passed through: its as_of is the staff's day
        }:
            names = {p["name"] for p in item["get"].get("parameters", [])}
            assert {"as_of", "known_at"} <= names, path


def test_every_path_but_health_and_the_page_is_under_api():
    assert all(path.startswith(("/api/", "/health/")) for path in openapi()["paths"])


@pytest.mark.parametrize("path", ["/api/vetoes", "/api/rankings", "/api/rectifications/plans"])
def test_a_decision_lists_every_problem_it_can_answer(path):
    answers = operation("post", path)["responses"]
    assert {"201", "404", "409", "422"} <= set(answers)
    for status in ("404", "409", "422"):
        assert answers[status]["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.mark.parametrize("path", [
    "/api/units/{unit_code}/coverage", "/api/units/{unit_code}/explain", "/api/units/{unit_code}/trend",
    "/api/scoreboard", "/api/scoreboard/stream", "/api/scoreboard/export",
])
def test_a_question_about_a_unit_lists_404_and_422(path):
    assert {"404", "422"} <= set(operation("get", path)["responses"])


def test_the_rebuild_is_the_kits_and_can_be_unavailable():
    assert {"202", "503"} <= set(operation("post", "/api/admin/rebuild")["responses"])


def test_the_stream_says_it_is_server_sent_events():
    assert set(operation("get", "/api/scoreboard/stream")["responses"]["200"]["content"]) == {"text/event-stream"}


def parameter(path: str, name: str) -> dict:
    schema = next(p for p in operation("get", path)["parameters"] if p["name"] == name)["schema"]
    return next((s for s in schema.get("anyOf", []) if s.get("type") == "string"), schema)


def test_unit_codes_and_periods_state_their_patterns():
    assert parameter("/api/units/{unit_code}/coverage", "unit_code")["pattern"] == "^[0-9]{12}$"
    for path in ("/api/scoreboard", "/api/scoreboard/stream", "/api/scoreboard/export"):
        assert parameter(path, "parent")["pattern"] == "^[0-9]{12}$"
        assert parameter(path, "period")["pattern"] == PERIOD_PATTERN
    assert parameter("/api/rectifications", "period")["pattern"] == PERIOD_PATTERN


def test_the_version_is_the_packages():
    from importlib.metadata import version

    assert openapi()["info"]["version"] == version("assessment")
