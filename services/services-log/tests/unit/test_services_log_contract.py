"""What the services log promises others: its published documents, its subscriptions, and when
it tells Kafka a department message is done."""

from __future__ import annotations

import pytest
from faststream.middlewares import AckPolicy

from platform_kit.contract_docs import CONTRACT, documents
from platform_kit.topics import INGEST_ROUTES
from services_log import bootstrap
from services_log.bootstrap import Settings, build

REGENERATE = "run: .venv/bin/python -m platform_kit.contract_docs --service services-log"
GENERATED = documents("services-log", bootstrap)


@pytest.fixture(scope="module")
def service():
    return build(Settings(_env_file=None, kafka_bootstrap_servers="kafka:9092", topic_namespace=""))


@pytest.mark.parametrize("relative", sorted(GENERATED))
def test_the_committed_contract_documents_are_what_the_code_generates(relative):
    path = CONTRACT / relative
    assert path.exists(), REGENERATE
    assert path.read_text(encoding="utf-8") == GENERATED[relative], REGENERATE


def test_the_services_log_is_found_by_the_kits_contract_writer():
    from platform_kit.contract_docs import services

    assert services()["services-log"] is bootstrap


def test_the_services_log_listens_to_every_department_that_sends_it_facts(service):
    ours = {f"ingest.{dept}" for dept, routes in INGEST_ROUTES.items() if "services-log" in routes.values()}
    subscribed = {topic.name for sub in service.runtime.broker.subscribers for topic in sub.topics}
    assert subscribed == ours == {"ingest.health", "ingest.hr"}


def test_a_department_message_is_done_only_once_it_is_recorded_or_rejected(service):
    # FastStream's default (ACK_FIRST) auto-commits the offset on a timer, before the handler has
    # appended: a crash in between would lose the message. The restart test kills the service
    # inside an append, but cannot wait for that timer, so the policy is pinned here.
    subscribers = list(service.runtime.broker.subscribers)
    assert subscribers
    for subscriber in subscribers:
        assert subscriber.ack_policy is AckPolicy.NACK_ON_ERROR
        assert subscriber.group_id.startswith("services-log.ingest.")


def test_the_api_version_is_the_packages():
    from importlib.metadata import version

    assert build(Settings(_env_file=None)).app.version == version("services-log")


def test_every_path_is_under_api_or_health(service):
    paths = service.app.openapi()["paths"]
    assert paths and all(p.startswith(("/api/", "/health/")) for p in paths), sorted(paths)


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("post", "/api/services", {"200", "201", "401", "403", "409", "422"}),
        ("post", "/api/surveys", {"200", "201", "401", "403", "409", "422"}),
        ("post", "/api/trainings", {"200", "201", "401", "403", "409", "422"}),
        ("post", "/api/association-activities", {"200", "201", "401", "403", "409", "422"}),
        ("get", "/api/services/{service_id}", {"200", "401", "403", "404", "422"}),
        ("get", "/api/surveys/{survey_id}", {"200", "401", "403", "404", "422"}),
        ("get", "/api/trainings/{training_id}", {"200", "401", "403", "404", "422"}),
        ("get", "/api/association-activities/{activity_id}", {"200", "401", "403", "404", "422"}),
        ("get", "/api/awaiting-resident", {"200", "401", "403", "422"}),
        ("get", "/api/residents/{resident_id}", {"200", "401", "403", "404", "422"}),
        ("get", "/api/associations", {"200", "401", "403"}),
        ("post", "/api/admin/rebuild", {"202", "401", "403", "503"}),
    ],
)
# 401 and 403 on every route: the runtime guards each one (docs/security.md).
def test_each_route_documents_the_problems_it_can_answer(service, method, path, statuses):
    answers = service.app.openapi()["paths"][path][method]["responses"]
    assert set(answers) == statuses
    for status in statuses - {"200", "201", "202"}:
        assert answers[status]["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/services/not-an-id", "path.service_id"),
        ("/api/surveys/1234", "path.survey_id"),
        ("/api/trainings/%00", "path.training_id"),
        ("/api/association-activities/x", "path.activity_id"),
        ("/api/residents/x", "path.resident_id"),
        ("/api/awaiting-resident?limit=100000000000000000000000000000", "query.limit"),
        ("/api/awaiting-resident?unit_code=3704%00", "query.unit_code"),
    ],
)
async def test_a_malformed_id_or_query_is_invalid_before_anything_is_read(service, path, field):
    # Refused by validation, before the route reaches the (here not started) database.
    import httpx

    from platform_kit.testing import bearer

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service.app), base_url="http://services-log", headers=bearer()) as http:
        answer = await http.get(path)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"][0]["field"] == field
