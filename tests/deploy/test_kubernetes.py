"""deploy/kubernetes: every manifest valid, every secret from a Secret, services on 0.0.0.0.

Built-in kinds are validated with kubernetes-validate, which ships the Kubernetes JSON
schemas inside the package (no network), in strict mode (unknown fields are errors), against
the newest Kubernetes version it knows. Its schemas do not cover operators' kinds, so the two
CRD kinds used here are checked against schemas written below from the operators' CRD docs:
a subset (the fields these manifests use and a few neighbours, typed and bounded as the CRDs
declare them), not the whole CRD. ``kustomization.yaml`` is kustomize's own file, not a
resource, and is checked by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "kubernetes"
APP_PORTS = {"registry": 8101, "services-log": 8102, "assessment": 8103, "notifier": 8104}
# The Secret CloudNativePG creates for the `app` owner of Cluster `platform-db`.
CNPG_APP_SECRET = ("platform-db-app", {"uri", "password", "username", "host", "port", "dbname", "jdbc-uri", "pgpass"})
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|(^|_)KEY($|_)|^DATABASE_URL$")

# Strimzi KafkaTopic, kafka.strimzi.io/v1beta2 (Strimzi docs, "KafkaTopic schema reference").
KAFKA_TOPIC_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kafka.strimzi.io/v1beta2"},
        "kind": {"const": "KafkaTopic"},
        "metadata": {
            "type": "object",
            "required": ["name", "labels"],
            "properties": {
                "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
                "namespace": {"type": "string"},
                "labels": {"type": "object", "required": ["strimzi.io/cluster"], "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "topicName": {"type": "string", "pattern": r"^[a-zA-Z0-9._-]{1,249}$"},
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": {"type": "object", "additionalProperties": {"type": ["string", "integer", "number", "boolean"]}},
            },
        },
    },
}

# CloudNativePG Cluster, postgresql.cnpg.io/v1 (CloudNativePG API reference, ClusterSpec).
CNPG_CLUSTER_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "postgresql.cnpg.io/v1"},
        "kind": {"const": "Cluster"},
        "metadata": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}}},
        "spec": {
            "type": "object",
            "required": ["instances", "storage"],
            "properties": {
                "instances": {"type": "integer", "minimum": 1},
                "imageName": {"type": "string"},
                "bootstrap": {
                    "type": "object",
                    "properties": {
                        "initdb": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "database": {"type": "string"},
                                "owner": {"type": "string"},
                                "secret": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                                "encoding": {"type": "string"},
                                "localeCollate": {"type": "string"},
                                "localeCType": {"type": "string"},
                                "dataChecksums": {"type": "boolean"},
                                "postInitSQL": {"type": "array", "items": {"type": "string"}},
                                "postInitApplicationSQL": {"type": "array", "items": {"type": "string"}},
                            },
                        }
                    },
                },
                "postgresql": {
                    "type": "object",
                    "properties": {"parameters": {"type": "object", "additionalProperties": {"type": "string"}}},
                },
                "storage": {
                    "type": "object",
                    "properties": {
                        "size": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"},
                        "storageClass": {"type": "string"},
                    },
                },
            },
        },
    },
}
CRD_SCHEMAS = {
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): KAFKA_TOPIC_SCHEMA,
    ("postgresql.cnpg.io/v1", "Cluster"): CNPG_CLUSTER_SCHEMA,
}


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _kustomization() -> dict:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


def _applied() -> list[dict]:
    """Every resource `kubectl apply -k deploy/kubernetes` applies."""
    return [doc for name in _kustomization()["resources"] for doc in _docs(K8S / name)]


def _by_kind(kind: str) -> list[dict]:
    return [d for d in _applied() if d["kind"] == kind]


def validate(doc: dict) -> None:
    schema = CRD_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
    if schema is not None:
        jsonschema.validate(doc, schema)
    else:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def _manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def test_kustomization_lists_every_manifest_but_the_example() -> None:
    resources = _kustomization()["resources"]
    files = {p.name for p in _manifest_files()}
    assert "secrets.example.yaml" not in resources, "the example Secret must never be applied"
    assert set(resources) == files - {"secrets.example.yaml"}


@pytest.mark.parametrize("path", _manifest_files(), ids=lambda p: p.name)
def test_every_manifest_is_valid(path: Path) -> None:
    docs = _docs(path)
    assert docs
    for doc in docs:
        validate(doc)


def test_the_validator_rejects_a_bad_manifest() -> None:
    deployment = _by_kind("Deployment")[0]
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    deployment = _by_kind("Deployment")[0]
    deployment["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueForm"] = "typo"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    topic = _by_kind("KafkaTopic")[0]
    topic["spec"]["replicas"] = 0
    with pytest.raises(jsonschema.ValidationError):
        validate(topic)
    cluster = _by_kind("Cluster")[0]
    cluster["spec"]["postgresql"]["parameters"]["max_connections"] = 300
    with pytest.raises(jsonschema.ValidationError):
        validate(cluster)


def _containers() -> dict[str, dict]:
    return {
        d["metadata"]["name"]: c
        for d in _by_kind("Deployment")
        for c in d["spec"]["template"]["spec"]["containers"]
    }


def _effective_env(container: dict) -> dict[str, object]:
    """Name -> literal value or the valueFrom mapping; env overrides envFrom, as in Kubernetes."""
    config_maps = {cm["metadata"]["name"]: cm.get("data", {}) for cm in _by_kind("ConfigMap")}
    env: dict[str, object] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, f"envFrom other than a ConfigMap: {source}"
        env.update(config_maps[source["configMapRef"]["name"]])
    for var in container.get("env", []):
        env[var["name"]] = var.get("value", var.get("valueFrom"))
    return env


def test_every_service_listens_on_all_interfaces_on_its_port() -> None:
    containers = _containers()
    assert set(containers) == set(APP_PORTS)
    for name, port in APP_PORTS.items():
        env = _effective_env(containers[name])
        assert env["HTTP_HOST"] == "0.0.0.0", name
        assert env["HTTP_PORT"] == str(port), name
        assert {"containerPort": port, "name": "http"} in containers[name]["ports"]


def test_every_secret_comes_from_a_secret_object() -> None:
    for cm in _by_kind("ConfigMap"):
        leaked = [k for k in cm.get("data", {}) if SECRET_NAME.search(k)]
        assert not leaked, f"ConfigMap {cm['metadata']['name']} holds secrets: {leaked}"
    for name, container in _containers().items():
        for var in container.get("env", []):
            if SECRET_NAME.search(var["name"]):
                assert "value" not in var, f"{name}: {var['name']} is a literal"
                assert set(var["valueFrom"]) == {"secretKeyRef"}, f"{name}: {var['name']} not from a Secret"
    registry = _effective_env(_containers()["registry"])
    notifier = _effective_env(_containers()["notifier"])
    assert registry["IDENTITY_SECRET"] == {"secretKeyRef": {"name": "platform-secrets", "key": "identity-secret"}}
    assert notifier["WEBHOOK_SECRET"] == {"secretKeyRef": {"name": "platform-secrets", "key": "webhook-secret"}}
    for name in ("services-log", "assessment"):
        env = _effective_env(_containers()[name])
        assert not {"IDENTITY_SECRET", "WEBHOOK_SECRET"} & set(env), f"{name} gets a secret it does not use"


def test_the_example_documents_every_secret_a_district_must_create() -> None:
    example = _docs(K8S / "secrets.example.yaml")
    provided = {(s["metadata"]["name"], k) for s in example for k in s.get("stringData", {})}
    assert all(s["metadata"]["namespace"] == "migrant-services" for s in example)
    cnpg_name, cnpg_keys = CNPG_APP_SECRET
    assert any(c["metadata"]["name"] == "platform-db" for c in _by_kind("Cluster"))
    for name, container in _containers().items():
        for var in container.get("env", []):
            ref = (var.get("valueFrom") or {}).get("secretKeyRef")
            if not ref:
                continue
            if ref["name"] == cnpg_name:
                assert ref["key"] in cnpg_keys, f"{name}: CloudNativePG's {cnpg_name} has no key {ref['key']}"
            else:
                assert (ref["name"], ref["key"]) in provided, f"{name}: {ref} is not in secrets.example.yaml"
    for secret in example:
        for key, value in secret["stringData"].items():
            assert value.startswith("REPLACE"), f"secrets.example.yaml: {key} looks like a real value"
