"""What every stage shares: the stack's addresses, a warm connection pool, fresh schemas and
topics (uuid-suffixed) that are removed at the end, and a clock."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from platform_kit.database import create_pool
from platform_kit.kafka import ensure_topics

PARTITIONS = 3
POOL_SIZE = 10


@dataclass
class Context:
    bootstrap_servers: str
    database_url: str
    pool: asyncpg.Pool
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    schemas: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)

    @classmethod
    async def open(cls, bootstrap_servers: str, database_url: str) -> Context:
        pool = await create_pool(database_url, min_size=POOL_SIZE, max_size=POOL_SIZE)
        await warm_pool(pool)
        return cls(bootstrap_servers, database_url, pool)

    def schema(self, stage: str) -> str:
        """A new schema's name, never handed out before (``bench_<run>_<stage>_<uuid>``)."""
        name = f"bench_{self.run_id}_{stage}_{uuid.uuid4().hex[:6]}"
        self.schemas.append(name)
        return name

    async def topic(self, stage: str) -> str:
        """A new topic (``bench.<run>.<stage>.<uuid>``), empty, with the platform's partitions."""
        name = f"bench.{self.run_id}.{stage}.{uuid.uuid4().hex[:6]}"
        await ensure_topics(self.bootstrap_servers, [name], partitions=PARTITIONS, keep_forever=False)
        self.topics.append(name)
        return name

    async def drop_schema(self, name: str) -> None:
        await self.pool.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        self.schemas.remove(name)

    async def close(self) -> None:
        for name in list(self.schemas):
            await self.drop_schema(name)
        await self.pool.close()
        if self.topics:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
            await admin.start()
            try:
                response = await admin.delete_topics(self.topics)
            finally:
                await admin.close()
            left = [topic for topic, error, *_ in response.topic_error_codes if error]
            if left:
                print(f"bench: could not delete the topics {left}", file=sys.stderr)


async def warm_pool(pool: asyncpg.Pool) -> None:
    """Open every connection of the pool and let each run a query."""
    conns = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        await asyncio.gather(*(conn.fetchval("SELECT 1") for conn in conns))
    finally:
        for conn in conns:
            await pool.release(conn)


async def warm_producer(producer: AIOKafkaProducer, topic: str, warmup_topic: str) -> None:
    """Metadata for ``topic`` and one acknowledged send (to another topic): connections open,
    producer id assigned."""
    await producer.partitions_for(topic)
    await (await producer.send(warmup_topic, value=b"warm-up", key=b"warm-up"))


async def observed(
    condition: Callable[[], bool], *, watching: Iterable[asyncio.Task] = (), interval: float = 0.002
) -> float:
    """Wait until ``condition()`` holds; the clock reading when it was seen to hold. Raises if
    one of the ``watching`` tasks ends first (with its own exception if it failed)."""
    while not condition():
        for task in watching:
            if task.done():
                task.result()
                raise RuntimeError(f"{task.get_name()} ended before the stage was done")
        await asyncio.sleep(interval)
    return time.perf_counter()


def rate(n: int, seconds: float) -> float:
    return n / seconds
