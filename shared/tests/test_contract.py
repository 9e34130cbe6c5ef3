"""The published contract and the code never disagree."""

from __future__ import annotations

import json
from pathlib import Path

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
