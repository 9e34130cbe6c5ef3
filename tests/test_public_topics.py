"""The public topics exist as the contract says, on the real broker."""

from __future__ import annotations

import subprocess
import sys

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from platform_kit.topics import DOMAIN_TOPICS, INGEST_REJECTED, INGEST_TOPICS, TASK_TOPICS


async def test_make_topics_creates_every_public_topic_keeping_event_history_forever(stack):
    env = {"KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers, "PATH": "/usr/bin:/bin"}
    created = subprocess.run(
        [sys.executable, "-m", "platform_kit.topics_cli"], env=env, capture_output=True, text=True, timeout=120
    )
    assert created.returncode == 0, created.stderr
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap_servers)
    await admin.start()
    try:
        topics = {t["topic"]: t for t in await admin.describe_topics([*DOMAIN_TOPICS, *INGEST_TOPICS, INGEST_REJECTED, *TASK_TOPICS])}
        assert all(t["error_code"] == 0 and len(t["partitions"]) == 3 for t in topics.values()), topics
        configs = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "registry.events")])
        retention = {c[0]: c[1] for c in configs[0].resources[0][4]}["retention.ms"]
        assert retention == "-1"
    finally:
        await admin.close()
