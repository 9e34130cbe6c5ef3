"""``python -m platform_kit.topics_cli``: create the platform's public topics if missing."""

from __future__ import annotations

import asyncio

from platform_kit.kafka import ensure_topics
from platform_kit.settings import KitSettings
from platform_kit.topics import Topics


def main() -> None:
    settings = KitSettings()
    namespaced = Topics(settings.topic_namespace)
    topics = (*namespaced.public, *namespaced.task_topics)
    asyncio.run(
        ensure_topics(
            settings.kafka_bootstrap_servers,
            topics,
            partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
        )
    )
    print("topics ready: " + ", ".join(topics))


if __name__ == "__main__":
    main()
