"""The published contract and the code never disagree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from platform_kit.envelope import Envelope

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "contract"


def test_the_published_envelope_schema_is_the_one_the_code_enforces():
    published = json.loads((CONTRACT / "envelope.schema.json").read_text())
    generated = Envelope.model_json_schema()
    assert {k: v for k, v in published.items() if k not in {"$id", "title", "description"}} == {
        k: v for k, v in generated.items() if k not in {"title", "description"}
    }


def test_the_example_message_is_a_valid_envelope():
    example = (CONTRACT / "envelope.example.json").read_text()
    envelope = Envelope.from_bytes(example)
    assert set(json.loads(example)) == set(Envelope.model_fields)  # every field shown, none invented
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope
    assert envelope.occurred_at.utcoffset().total_seconds() == 8 * 3600  # local time keeps its offset


EXAMPLES = CONTRACT / "examples"


def test_every_event_type_has_an_example_and_every_example_a_type():
    from platform_kit.contract import catalogue

    assert sorted(p.stem for p in EXAMPLES.glob("*.json")) == catalogue.event_types


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_each_example_is_a_valid_event_of_its_type(path):
    from platform_kit.contract import catalogue

    envelope = Envelope.from_bytes(path.read_text())
    assert envelope.event_type == path.stem
    payload = catalogue.load(envelope)
    assert payload.model_dump(mode="json") == envelope.payload  # nothing dropped, nothing defaulted away
