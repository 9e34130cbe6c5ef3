"""Every HTTP endpoint of each service, fuzzed from its committed OpenAPI document
(docs/contract/openapi/<name>.json) against the service's real process on the real Kafka and
PostgreSQL (tests/service_processes.py).

The committed document is what callers build against, so it is what is fuzzed: a route that
answers a status, a content type or a body the document does not declare fails here, and so
does any 5xx and any 4xx that is not a problem naming a field and a reason.

Left out on purpose: ``use_after_free`` and ``ensure_resource_availability`` (they follow
OpenAPI links between operations, which these documents do not declare, and depend on stored
data), ``ignored_auth``/``object_level_authorization`` (the routes are
not behind the kit's sign-in yet) and ``max_response_time`` (no timed assertions).

The scoreboard's event stream never ends, so a case that reads it to its end never returns: it is
fuzzed on its own, each case reading the answer up to its first event and closing
(``test_the_scoreboard_stream_answers_as_its_document_says_up_to_its_first_event``).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks

from platform_kit.testing import bearer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from service_processes import District, district, forget_run  # noqa: E402

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = REPO / "docs/contract/openapi"
SERVICES = ("registry", "services-log", "assessment", "notifier")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
    checks.missing_required_header,
    checks.unsupported_method,
]


STREAM = "/api/scoreboard/stream"


def _schema(name: str) -> schemathesis.BaseSchema:
    # The event stream is fuzzed by the test of its own below: read to its end, it never ends.
    return schemathesis.openapi.from_path(DOCUMENTS / f"{name}.json").exclude(path=STREAM)


TITLES = {json.loads((DOCUMENTS / f"{name}.json").read_text())["info"]["title"]: name for name in SERVICES}


def problem_shape(ctx, response, case) -> None:
    """Every 4xx is an RFC 9457 problem that names each field at fault and why."""
    if not 400 <= response.status_code < 500:
        return None
    media = response.headers.get("content-type", [""])
    assert_problem(response.status_code, media[0] if isinstance(media, list) else media, response.json)
    return None


def assert_problem(status: int, media: str, body: Callable[[], dict]) -> None:
    assert media.startswith("application/problem+json"), f"{status} answered as {media!r}"
    body = body()
    for member in ("type", "title", "status", "detail", "errors"):
        assert member in body, f"{status} problem without {member!r}"
    assert body["status"] == status, "the problem's status is not the response's"
    assert body["errors"], "a problem naming no field"
    for error in body["errors"]:
        assert error.get("field") and error.get("reason"), f"an error without field or reason: {error}"
    return None


# A 422 for data the document calls valid is fine when a business rule refused it (the unit
# tree, the 13 associations, the ID number's arithmetic, a channel's address format: rules
# no JSON Schema expresses). It is a defect when the validation layer that *generated* the
# document refused it: pydantic's own messages ("... should ...", "Field required", "Extra
# inputs are not permitted") mean the document promises more than the service takes.
SCHEMA_LEVEL = re.compile(r"\bshould\b|^Field required$|not permitted|^is not valid JSON")


def positive_data_accepted(ctx, response, case) -> None:
    """schemathesis' positive_data_acceptance, less the business rules' refusals."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    reasons = [e.get("reason", "") for e in response.json().get("errors", [])]
    malformed = [r for r in reasons if SCHEMA_LEVEL.search(r)]
    assert not malformed, f"schema-valid data refused as malformed: {malformed}"
    return None


@pytest.fixture(scope="session")
def services(stack, tmp_path_factory):
    """The fuzzed services as real processes, each started the first time a case needs it."""
    d: District = district(stack.bootstrap_servers, stack.database_url, tmp_path_factory.mktemp("fuzz"))
    started: set[str] = set()

    def url(name: str) -> str:
        # The assessment passes GET /api/network through to the services log: it runs too.
        for needed in (["services-log"] if name == "assessment" else []) + [name]:
            if needed not in started:
                d[needed].start()
                d[needed].wait_ready()
                started.add(needed)
        return d.url(name)

    yield url
    for name in started:
        d[name].stop()
    forget_run(stack.bootstrap_servers, stack.database_url, d.namespace, list(d.schemas.values()))


@schemathesis.pytest.parametrize(**{name.replace("-", "_"): _schema(name) for name in SERVICES})
# No shrinking: each example is a real HTTP call, and the failing request is reported as sent.
@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
    phases=[Phase.explicit, Phase.generate],
)
def test_every_endpoint_answers_as_its_document_says(case, services):
    name = TITLES[case.operation.schema.raw_schema["info"]["title"]]
    # As the district centre: every unit is in scope, so what is fuzzed is the input, not the scopes
    # (tests/test_who_may_do_what.py covers those).
    case.call_and_validate(
        base_url=services(name), headers=bearer(), checks=CHECKS,
        additional_checks=[problem_shape, positive_data_accepted], timeout=30,
    )


def first_event(lines: Iterator[str]) -> dict[str, str]:
    """The stream's first event, as its fields (keep-alive comments skipped)."""
    fields: dict[str, str] = {}
    for line in lines:
        if line.startswith(":"):
            continue
        if not line:
            if fields:
                return fields
            continue
        name, _, value = line.partition(":")
        fields[name] = fields.get(name, "") + ("\n" if name in fields else "") + value.removeprefix(" ")
    raise AssertionError(f"the stream ended before its first event was complete: {fields}")


@schemathesis.pytest.parametrize(assessment=schemathesis.openapi.from_path(DOCUMENTS / "assessment.json").include(path=STREAM))
@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
    phases=[Phase.explicit, Phase.generate],
)
def test_the_scoreboard_stream_answers_as_its_document_says_up_to_its_first_event(case, services):
    """Each case reads the answer's status, headers and first event (sent at once), then closes:
    bounded, where reading the stream to its end would never return. A stream that never sent
    its first event fails on the read timeout, never hangs."""
    responses = case.operation.definition.raw["responses"]
    kwargs = case.as_transport_kwargs(base_url=services("assessment"), headers=bearer())
    with httpx.Client(timeout=30) as client, client.stream(**kwargs) as response:
        status, media = response.status_code, response.headers.get("content-type", "")
        assert status < 500, f"{status}: {response.read()[:500]!r}"
        if case.method.upper() != case.operation.method.upper():  # schemathesis tries other methods too
            assert status == 405, f"{case.method} answered {status}"
            assert_problem(status, media, lambda: json.loads(response.read()))
            return
        assert str(status) in responses, (
            f"{status} is not one of the documented {sorted(responses)}: {kwargs['method']} {response.url} "
            f"answered {response.read()[:300]!r}"
        )
        if status >= 400:
            assert_problem(status, media, lambda: json.loads(response.read()))
            return
        assert media.startswith("text/event-stream"), f"200 answered as {media!r}"
        event = first_event(response.iter_lines())
    jsonschema.validate(event, responses["200"]["content"]["text/event-stream"]["schema"])
    # contentMediaType application/json: the scoreboard, as GET /api/scoreboard documents it
    document = case.operation.schema.raw_schema
    scoreboard = document["paths"]["/api/scoreboard"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**scoreboard, "components": document["components"]}).validate(json.loads(event["data"]))
