"""The AsyncAPI documents are valid AsyncAPI 3.0.0 (the official JSON Schema, as the reference
parser checks them), every reference in them resolves, and the Kafka headers they declare are
the headers the relay really writes: a consumer in any language can route by ``ce_type`` and
continue the trace from ``traceparent`` by reading the document alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from jsonschema.validators import validator_for

from platform_kit import cloudevents, tracing
from platform_kit.contract_docs import CONTRACT, EVENT_TOPICS
from platform_kit.testing import service_delivered

pytestmark = pytest.mark.unit

SPEC = json.loads((Path(__file__).parent / "asyncapi" / "3.0.0.schema.json").read_text(encoding="utf-8"))
DOCUMENTS = sorted((CONTRACT / "asyncapi").glob("*.json"))


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _resolve(document: dict, reference: str) -> dict:
    assert reference.startswith("#/"), reference
    node = document
    for part in reference[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _references(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def test_there_is_a_document_per_service():
    assert {p.stem for p in DOCUMENTS} == {"registry", "services-log", "assessment", "notifier"}


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_each_document_is_valid_asyncapi_3(path):
    errors = sorted(Draft7Validator(SPEC).iter_errors(_load(path)), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors[:10])


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_every_reference_resolves(path):
    document = _load(path)
    for reference in _references(document):
        _resolve(document, reference)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_every_event_topic_message_declares_the_headers_the_relay_writes(path):
    document = _load(path)
    event = service_delivered("resident-1", 1)
    written = {k: v.decode() for k, v in cloudevents.headers(event)}
    written[tracing.TRACEPARENT] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    checked = 0
    for channel in document["channels"].values():
        if channel["address"] not in EVENT_TOPICS:
            continue
        for reference in channel["messages"].values():
            message = _resolve(document, reference["$ref"])
            schema = _resolve(document, message["headers"]["$ref"])
            validator = validator_for(schema)(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
            assert not list(validator.iter_errors(written)), (channel["address"], list(validator.iter_errors(written)))
            assert set(written) <= set(schema["properties"]), set(written) - set(schema["properties"])
            assert message["correlationId"]["location"] == "$message.header#/correlation_id"
            routed = dict(written, ce_type=None)  # a record without its type is not what the document promises
            assert list(validator.iter_errors(routed)), "ce_type must be declared a string"
            checked += 1
    assert checked, f"{path.name} declares no event topic"
