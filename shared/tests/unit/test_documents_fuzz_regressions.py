"""What the OpenAPI fuzzers (tests/fuzz) found in the committed documents, one example each:
a document that calls a request valid which the service then refuses as malformed."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
OPENAPI = REPO / "docs/contract/openapi"


def _query_parameters(service: str, name: str) -> dict[str, dict]:
    document = json.loads((OPENAPI / f"{service}.json").read_text())
    found = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] == name:
                    found[f"{method.upper()} {path}"] = parameter["schema"]
    return found


def _patterns(schema: dict) -> set[str | None]:
    options = schema.get("anyOf", [schema])
    return {o.get("pattern") for o in options if o.get("type") == "string"}


def test_every_unit_code_in_a_registry_query_is_declared_as_twelve_ascii_digits():
    # Found by schemathesis: GET /api/residents?unit_code= was valid by the document and
    # refused with 422 (also /api/discrepancies and /api/verification-requests).
    found = _query_parameters("registry", "unit_code")
    assert found, "the registry has unit_code query parameters"
    for operation, schema in found.items():
        assert _patterns(schema) == {"^[0-9]{12}$"}, operation


def test_the_id_number_of_a_lookup_is_declared_as_the_id_number_shape():
    # Found by schemathesis: an 18-character id_number with a tab in it was valid by the
    # document and refused with 422 once the service stripped the tab.
    document = json.loads((OPENAPI / "registry.json").read_text())
    body = document["paths"]["/api/residents/lookup"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    assert document["components"]["schemas"][name]["properties"]["id_number"]["pattern"] == "^[0-9]{17}[0-9Xx]$"
