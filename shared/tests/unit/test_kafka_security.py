"""The kit's Kafka credentials (KafkaSecurity) and the ACLs it computes for a secured bus."""

from __future__ import annotations

import pytest

from platform_kit import kafka_acls
from platform_kit.kafka import KafkaSecurity
from platform_kit.kafka_acls import CLUSTER, DESCRIBE, GROUP, READ, TOPIC, WRITE, acls
from platform_kit.settings import KitSettings
from platform_kit.topics import DEPARTMENTS

pytestmark = pytest.mark.unit


def test_plaintext_by_default_adds_no_client_options():
    assert KafkaSecurity.from_env({}).client_options() == {}
    assert KafkaSecurity.from_env({}).faststream() is None


def test_sasl_options_come_from_the_environment_and_a_password_file(tmp_path):
    secret = tmp_path / "registry.password"
    secret.write_text("s3cret\n")
    security = KafkaSecurity.from_env({
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "registry",
        "KAFKA_SASL_PASSWORD_FILE": str(secret),
    })
    assert security.client_options() == {
        "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "registry", "sasl_plain_password": "s3cret",
    }
    assert "s3cret" not in repr(security)
    assert security.faststream().use_ssl is False


def test_sasl_without_credentials_names_what_is_missing():
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        KafkaSecurity.from_env({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})
    with pytest.raises(ValueError, match="KAFKA_SECURITY_PROTOCOL: 'SSL'"):
        KafkaSecurity.from_env({"KAFKA_SECURITY_PROTOCOL": "SSL"})


def test_a_service_reads_its_principal_from_its_settings():
    settings = KitSettings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="notifier", kafka_sasl_password="pw")
    assert settings.kafka_security().client_options()["sasl_plain_username"] == "notifier"
    assert KitSettings().kafka_security().client_options() == {}


def _allowed(rules, principal, operation, resource_type=TOPIC):
    return {r.name for r in rules if r.principal == f"User:{principal}" and r.operation == operation and r.resource_type == resource_type}


@pytest.mark.parametrize("namespace", ["", "t1a2b."])
def test_a_department_writes_only_its_ingest_topic_and_reads_nothing(namespace):
    rules = acls(namespace)
    for department in DEPARTMENTS:
        principal = kafka_acls.department_principal(department)
        assert _allowed(rules, principal, WRITE) == {f"{namespace}ingest.{department}"}
        assert _allowed(rules, principal, READ) == set()
        assert _allowed(rules, principal, READ, GROUP) == set()


def test_each_service_writes_its_own_events_topic_and_the_rejections_only_if_it_reads_ingest():
    rules = acls("n.", {"registry": "n_registry", "services-log": "n_services_log", "assessment": "n_assessment", "notifier": "n_notifier"})
    assert _allowed(rules, "registry", WRITE) == {"n.registry.events", "n.ingest.rejected", "deadletter.n_registry."}
    assert _allowed(rules, "services-log", WRITE) == {"n.services.events", "n.ingest.rejected", "deadletter.n_services_log."}
    assert _allowed(rules, "assessment", WRITE) == {"n.assessment.events", "deadletter.n_assessment."}
    assert _allowed(rules, "notifier", WRITE) == {"n.notifier.events", "deadletter.n_notifier."}
    # Ingest topics are read by the services the contract routes them to, nobody else.
    assert "n.ingest.education" in _allowed(rules, "registry", READ)
    assert not any(t.startswith("n.ingest.") for t in _allowed(rules, "assessment", READ))
    assert _allowed(rules, "assessment", READ, GROUP) == {"n_assessment."}
    assert all(_allowed(rules, p, DESCRIBE) for p in kafka_acls.SERVICES)
    assert {r.principal for r in rules if r.resource_type == CLUSTER} == {f"User:{p}" for p in kafka_acls.principals()}
