"""What the services log promises others: its published documents, its subscriptions, and when
it tells Kafka a department message is done."""

from __future__ import annotations

import pytest
from faststream.middlewares import AckPolicy

from platform_kit.topics import INGEST_ROUTES
from services_log.bootstrap import bootstrap
from services_log.contract_docs import documents
from services_log.settings import ServicesLogSettings


@pytest.fixture(scope="module")
def service():
    return bootstrap(ServicesLogSettings(kafka_bootstrap_servers="kafka:9092", topic_namespace=""))


@pytest.mark.parametrize("path", list(documents()), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_committed_contract_documents_are_what_the_code_generates(path):
    generated = documents()[path]
    assert path.exists(), "run: .venv/bin/python -m services_log.contract_docs"
    assert path.read_text(encoding="utf-8") == generated, "run: .venv/bin/python -m services_log.contract_docs"


def test_the_services_log_listens_to_every_department_that_sends_it_facts(service):
    ours = {f"ingest.{dept}" for dept, routes in INGEST_ROUTES.items() if "services-log" in routes.values()}
    assert (
        {topic.name for sub in service.broker.subscribers for topic in sub.topics}
        == ours
        == {"ingest.health", "ingest.hr"}
    )


def test_a_department_message_is_done_only_once_it_is_recorded_or_rejected(service):
    # FastStream's default (ACK_FIRST) auto-commits the offset on a timer, before the handler has
    # appended: a crash in between would lose the message. The restart test kills the service
    # inside an append, but cannot wait for that timer, so the policy is pinned here.
    for subscriber in service.broker.subscribers:
        assert subscriber.ack_policy is AckPolicy.NACK_ON_ERROR
        assert subscriber.group_id.startswith("services_log.ingest.")
