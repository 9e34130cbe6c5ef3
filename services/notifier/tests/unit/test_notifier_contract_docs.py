"""The published AsyncAPI and OpenAPI documents are the ones the kit's writer generates from
the notifier's declaration."""

from __future__ import annotations

import json

import pytest

from platform_kit.contract import catalogue
from platform_kit.contract_docs import CONTRACT, documents

from notifier import bootstrap
from notifier.domain.rulebook import load_rulebook

DOCUMENTS = documents("notifier", bootstrap)


@pytest.mark.parametrize(("name", "text"), sorted(DOCUMENTS.items()))
def test_the_committed_document_is_what_the_code_generates(name, text):
    committed = (CONTRACT / name).read_text(encoding="utf-8")
    assert committed == text, f"docs/contract/{name} is stale: run `python -m platform_kit.contract_docs --service notifier`"


def _payloads(document: dict, topic: str) -> set[str]:
    [channel] = [name for name, c in document["channels"].items() if c["address"] == topic]
    [message] = [m for name, m in document["components"]["messages"].items() if name.startswith(f"{channel}:")]
    ref = message["payload"]["$ref"].split("/")[-1]
    schema = document["components"]["schemas"][ref]
    refs = [r["$ref"] for r in schema.get("anyOf", schema.get("oneOf", []))] or [message["payload"]["$ref"]]
    return {r.split("/")[-1].removesuffix("Envelope") for r in refs}


def test_the_asyncapi_document_lists_every_event_type_the_rules_react_to_on_its_topic():
    document = json.loads(DOCUMENTS["asyncapi/notifier.json"])
    consumed = {t: _payloads(document, t) for t in ("registry.events", "services.events", "assessment.events")}
    # and the registry's corrections, which make the facts it keeps of a person right
    assert set().union(*consumed.values()) == {t for t in load_rulebook().event_types if catalogue.knows(t)} | {
        "ResidentRecordCorrected"}
    assert "ServiceDelivered" in consumed["services.events"] and "VetoApplied" in consumed["assessment.events"]


def test_the_asyncapi_document_says_what_the_notifier_publishes():
    document = json.loads(DOCUMENTS["asyncapi/notifier.json"])
    assert _payloads(document, "notifier.events") == {"NotificationDelivered", "NotificationDeadLettered"}


def test_every_route_is_under_api_and_declares_its_problems():
    paths = json.loads(DOCUMENTS["openapi/notifier.json"])["paths"]
    assert all(p.startswith(("/api/", "/health/")) for p in paths)
    answers = {(m.upper(), p): set(op["responses"]) for p, ops in paths.items() for m, op in ops.items()}
    assert {"404", "422"} <= answers[("GET", "/api/units/{unit_code}/inbox")]
    assert {"404", "422"} <= answers[("POST", "/api/dead-letters/{delivery_id}/retry")]
    assert {"404", "422"} <= answers[("DELETE", "/api/recipients/{recipient}/subscriptions/{channel}")]
    assert {"404", "422"} <= answers[("GET", "/api/notifications/{notification_id}")]
