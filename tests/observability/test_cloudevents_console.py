"""Kafka's own console consumer reads the relay's records and routes them by ``ce_type`` alone:
the headers of the CloudEvents Kafka binding (binary mode), bodies never printed or parsed; an
event appended in a trace carries its W3C ``traceparent`` there too."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from datetime import datetime
from pathlib import Path

from opentelemetry import context as otel_context

from platform_kit import tracing
from platform_kit.runtime import ServiceRuntime
from platform_kit.settings import KitSettings
from platform_kit.testing import service_delivered

KAFKA_VERSION = "4.4.0"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TOOLS_JAR = Path.home() / f".m2/repository/org/apache/kafka/kafka-tools/{KAFKA_VERSION}/kafka-tools-{KAFKA_VERSION}.jar"
LIBS = Path(os.environ.get("KAFKA_LIBS") or Path(os.environ.get("STACK_DIR") or Path(__file__).resolve().parents[2] / ".stack") / "kafka" / "libs")


def console_consumer(bootstrap: str, topic: str, count: int) -> list[dict[str, str]]:
    """Each record's headers, as Kafka's ConsoleConsumer prints them (``key:value,...``)."""
    # The stack's broker jars do not include kafka-tools (the console tools); Maven fetches
    # that one jar once into ~/.m2, and it runs on the broker's own libraries.
    assert TOOLS_JAR.exists(), (
        f"{TOOLS_JAR} is missing: mvn -q dependency:get -Dartifact=org.apache.kafka:kafka-tools:{KAFKA_VERSION} -Dtransitive=false"
    )
    assert shutil.which("java"), "java is missing (the stack's Kafka needs it too)"
    out = subprocess.run(
        ["java", "-cp", f"{TOOLS_JAR}:{LIBS}/*", "org.apache.kafka.tools.consumer.ConsoleConsumer",
         "--bootstrap-server", bootstrap, "--topic", topic, "--from-beginning", "--max-messages", str(count),
         "--timeout-ms", "60000", "--formatter-property", "print.headers=true", "--formatter-property", "print.value=false",
         "--formatter-property", "print.key=false", "--formatter-property", "headers.separator=|"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    assert len(lines) == count and all(":" in line for line in lines), out.stdout
    return [dict(h.split(":", 1) for h in line.split("|")) for line in lines]


async def test_the_console_consumer_routes_relayed_events_by_ce_type(stack, schema):
    namespace = f"t{uuid.uuid4().hex[:8]}."
    topic = f"{namespace}services.events"
    settings = KitSettings(
        service_name="services-log", kafka_bootstrap_servers=stack.bootstrap_servers,
        database_url=stack.database_url, topic_namespace=namespace, relay_idle_poll_seconds=0.05,
    )
    runtime = ServiceRuntime(settings, schema=schema, publishes_to=topic)
    await runtime.start()
    try:
        delivered = service_delivered("resident-9", 1)
        other = service_delivered("resident-8", 1, index=1).model_copy(update={"event_type": "ServiceReversed"})
        assert runtime.store is not None
        # The first is appended in a trace (as a traced HTTP command's would be), the other in none.
        token = otel_context.attach(tracing.context_of(TRACEPARENT))
        try:
            await runtime.store.append([delivered])
        finally:
            otel_context.detach(token)
        await runtime.store.append([other])
        records = await asyncio.to_thread(console_consumer, stack.bootstrap_servers, topic, 2)
    finally:
        await runtime.stop()

    by_type = {r["ce_type"]: r for r in records}
    assert set(by_type) == {delivered.event_type, "ServiceReversed"}, records
    first = by_type[delivered.event_type]
    assert first["ce_specversion"] == "1.0"
    assert first["ce_id"] == str(delivered.event_id)
    assert first["ce_subject"] == delivered.stream_id
    assert first["ce_source"] == f"/migrant-services/{delivered.source}"
    assert first["content-type"] == "application/json"
    assert first["correlation_id"] == str(delivered.correlation_id)
    assert datetime.fromisoformat(first["ce_time"]) == delivered.recorded_at  # system time, not business time
    assert datetime.fromisoformat(first["ce_occurredat"]) == delivered.occurred_at
    assert first["traceparent"] == TRACEPARENT  # a consumer in any language continues the trace
    assert "traceparent" not in by_type["ServiceReversed"]
