"""The published AsyncAPI and OpenAPI documents are the ones the code generates."""

from __future__ import annotations

import pytest

from notifier.contract_docs import CONTRACT, consumed, documents


@pytest.mark.parametrize(("name", "text"), sorted(documents().items()))
def test_the_committed_document_is_what_the_code_generates(name, text):
    committed = (CONTRACT / name).read_text(encoding="utf-8")
    assert committed == text, f"docs/contract/{name} is stale: run `python -m notifier.contract_docs`"


def test_the_asyncapi_document_lists_every_topic_the_rules_listen_to():
    assert set(consumed()) == {"registry.events", "services.events", "assessment.events"}
