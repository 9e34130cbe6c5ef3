"""Who may use which topic and group on a secured bus (docs/security.md, "Kafka").

Each service and each department is a principal of its own (SASL/SCRAM); the broker refuses
whatever no ACL allows (``allow.everyone.if.no.acl.found=false``). The rules are computed from
the contract's topics (:mod:`platform_kit.topics`), so a department added there gets its
principal and its ingest topic here without anyone listing it twice:

- a service writes only its own ``<service>.events`` (and, if it reads ingest topics,
  ``ingest.rejected``), reads the domain topics its projections follow and the ingest topics
  :data:`INGEST_ROUTES` gives it, uses only its own consumer groups and dead-letter topics;
- a department (``dept-<department>``) writes only ``ingest.<department>`` and reads nothing.

The operator (a super user, ``admin`` on the local stack) creates the public topics and applies
these rules: ``python -m platform_kit.kafka_acls`` (the local stack does it with
``KAFKA_SECURITY=sasl``). aiokafka has no ACL call of its own, so the requests are its protocol
structs (CreateAcls v1), sent to any broker (the request is forwarded to the controller).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from platform_kit.kafka import KafkaSecurity, ensure_topics
from platform_kit.topics import DEPARTMENTS, DOMAIN_TOPICS, INGEST_ROUTES, Topics

SERVICES = {"registry": "registry", "services-log": "services_log", "assessment": "assessment", "notifier": "notifier"}
OWN_TOPIC = {"registry": "registry.events", "services-log": "services.events",
             "assessment": "assessment.events", "notifier": "notifier.events"}

# Kafka's wire codes (org.apache.kafka.common.resource / acl).
TOPIC, GROUP, CLUSTER = 2, 3, 4
LITERAL, PREFIXED = 3, 4
READ, WRITE, CREATE, DESCRIBE, IDEMPOTENT_WRITE = 3, 4, 5, 8, 12
ALLOW = 3
OPERATIONS = {READ: "Read", WRITE: "Write", CREATE: "Create", DESCRIBE: "Describe", IDEMPOTENT_WRITE: "IdempotentWrite"}


@dataclass(frozen=True)
class Acl:
    principal: str  # "User:registry"
    resource_type: int
    name: str
    pattern: int
    operation: int

    def __str__(self) -> str:
        kind = {TOPIC: "topic", GROUP: "group", CLUSTER: "cluster"}[self.resource_type]
        star = "*" if self.pattern == PREFIXED else ""
        return f"{self.principal} {OPERATIONS[self.operation]} {kind}:{self.name}{star}"


def department_principal(department: str) -> str:
    return f"dept-{department}"


def principals() -> list[str]:
    """Every principal the bus knows besides the operator: the four services, one per department."""
    return [*SERVICES, *(department_principal(d) for d in DEPARTMENTS)]


def acls(namespace: str = "", schemas: Mapping[str, str] | None = None) -> list[Acl]:
    """The rules for one deployment: ``namespace`` prefixes the topics (tests), ``schemas`` names
    each service's database schema, which its consumer groups and dead-letter topics carry."""
    schemas = {**SERVICES, **(schemas or {})}
    topics = Topics(namespace)
    rules: list[Acl] = []

    def allow(principal: str, resource_type: int, name: str, *operations: int, pattern: int = LITERAL) -> None:
        rules.extend(Acl(f"User:{principal}", resource_type, name, pattern, op) for op in operations)

    for service, schema in schemas.items():
        own = topics.name(OWN_TOPIC[service])
        allow(service, CLUSTER, "kafka-cluster", IDEMPOTENT_WRITE)
        allow(service, TOPIC, own, WRITE)
        for topic in topics.public:  # to find them at start; DESCRIBE shows a topic exists, nothing in it
            allow(service, TOPIC, topic, DESCRIBE)
        for topic in DOMAIN_TOPICS:  # projections follow the domain topics (none of them is personal in clear)
            allow(service, TOPIC, topics.name(topic), READ)
        ingests = [d for d in DEPARTMENTS if service in INGEST_ROUTES.get(d, {}).values()]
        for department in ingests:
            allow(service, TOPIC, topics.ingest(department), READ)
        if ingests:
            allow(service, TOPIC, topics.ingest_rejected, WRITE)
            allow(service, GROUP, f"{namespace}{service}.ingest.", READ, pattern=PREFIXED)
        # Projections: group "<schema>.<projection>", dead letters "deadletter.<schema>.<projection>".
        allow(service, GROUP, f"{schema}.", READ, pattern=PREFIXED)
        allow(service, TOPIC, f"deadletter.{schema}.", CREATE, DESCRIBE, WRITE, READ, pattern=PREFIXED)
    for department in DEPARTMENTS:
        principal = department_principal(department)
        allow(principal, CLUSTER, "kafka-cluster", IDEMPOTENT_WRITE)
        allow(principal, TOPIC, topics.ingest(department), WRITE, DESCRIBE)
    return rules


def _create_acls_request() -> type:
    """aiokafka's CreateAclsRequest carries one rule; this one carries all of them (v1)."""
    from aiokafka.protocol.admin import CreateAclsRequest_v1
    from aiokafka.protocol.api import Request

    class CreateAcls(Request[CreateAclsRequest_v1]):
        API_KEY = 30

        def __init__(self, creations: list[tuple]) -> None:
            self.creations = creations

        def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
            return request_struct_class(self.creations)

    return CreateAcls


async def apply(bootstrap_servers: str, rules: Iterable[Acl], *, security: KafkaSecurity | None = None) -> int:
    """Create ``rules`` on the cluster (creating one that exists changes nothing); the count."""
    from aiokafka.admin import AIOKafkaAdminClient

    rules = list(rules)
    _CreateAcls = _create_acls_request()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **(security or KafkaSecurity.from_env()).client_options())
    await admin.start()
    try:
        node = admin._client.get_random_node()  # noqa: SLF001 - aiokafka exposes no ACL call
        request = _CreateAcls([(r.resource_type, r.name, r.pattern, r.principal, "*", r.operation, ALLOW) for r in rules])
        response = await admin._client.send(node, request)  # noqa: SLF001
        failed = [(str(rule), code, message) for rule, (code, message) in zip(rules, response.creation_responses, strict=True) if code]
        if failed:
            raise RuntimeError(f"the broker refused {len(failed)} ACLs, e.g. {failed[0]}")
        await _until_in_force(admin, node, rules)
    finally:
        await admin.close()
    return len(rules)


async def _until_in_force(admin: object, node: int, rules: list[Acl], timeout: float = 120.0) -> None:
    """The controller has committed the rules; a broker enforces them once it has read that
    from the metadata log, a moment later (longer on a loaded machine). Until then a client
    would be refused what the rules allow, so the caller is answered only once they hold."""
    from aiokafka.protocol.admin import DescribeAclsRequest

    ANY = 1
    wanted = {(r.resource_type, r.name, r.pattern, r.principal, r.operation) for r in rules}
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        request = DescribeAclsRequest(ANY, None, ANY, None, None, ANY, ANY)
        response = await admin._client.send(node, request)  # noqa: SLF001
        seen = {(kind, name, pattern, acl[0], acl[2]) for kind, name, pattern, acls_ in response.resources for acl in acls_}
        if wanted <= seen:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"{len(wanted - seen)} ACLs are not in force after {timeout:.0f} s, e.g. {sorted(wanted - seen)[0]}")
        await asyncio.sleep(0.2)


async def secure(bootstrap_servers: str, namespace: str = "", schemas: Mapping[str, str] | None = None, *,
                 security: KafkaSecurity | None = None, partitions: int = 3) -> int:
    """As the operator: create the public topics, then the rules."""
    await ensure_topics(bootstrap_servers, Topics(namespace).public, partitions=partitions, security=security)
    return await apply(bootstrap_servers, acls(namespace, schemas), security=security)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m platform_kit.kafka_acls", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--namespace", default="")
    parser.add_argument("--list", action="store_true", help="print the rules, change nothing")
    args = parser.parse_args(argv)
    rules = acls(args.namespace)
    if args.list:
        print("\n".join(map(str, rules)))
        return 0
    count = asyncio.run(secure(args.bootstrap_servers, args.namespace))
    print(f"{count} ACLs for {len(principals())} principals", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
