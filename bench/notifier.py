"""The notifier under load: how fast its rules decide, and how long an event takes to reach its
recipient. ``run`` is called by ``python -m bench``; alone: ``python -m bench.notifier [--quick]``.

* **notifications decided**: N migrants register, one event each, all in 市中区's 162 villages;
  the inflow rule makes exactly one notification per event (and the quarterly pregnancy-check
  watch opens for the married women among them). The notifier's ``decisions`` projection reads
  them and writes the notifications, their deliveries and the timers, timed from its partition
  assignment to the last event applied. Its raw limit: a plain aiokafka consumer reading the
  same events, decoding nothing.
* **event to delivery**: the whole notifier running (projection, delivery workers, relay),
  fed events at a steady rate well below its capacity; for each event, the time from its send
  to its notification landing in the unit's inbox, and at the unit's webhook (a local HTTP
  server). Beside it, the bus alone: a plain producer to a plain consumer at the same rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from bench import raw
from bench.context import Context, observed, rate, warm_producer
from platform_kit.clock import SYSTEM_CLOCK
from platform_kit.contract import catalogue
from platform_kit.envelope import Envelope
from platform_kit.kafka import ensure_topics, idempotent_producer
from platform_kit.projection import ProjectionRunner
from platform_kit.topics import Topics
from platform_kit.units import unit_tree

from notifier.bootstrap import Settings, build
from notifier.domain.rulebook import load_rulebook
from notifier.entrypoints.projections import DecisionsProjection

DECIDE_EVENTS = {True: 5_000, False: 50_000}
DELAY_EVENTS = {True: 500, False: 3_000}
# The delay stage's steady feed: a district's peak ("thousands of events a minute",
# docs/platform-kit.md), below the notifier's capacity, so it measures delay, not backlog.
EVENTS_PER_SECOND = 50
PARTITIONS = 3


def arrivals(n: int) -> list[Envelope]:
    """N migrants registering across the villages; every other one a married woman of 25."""
    villages = [unit.code for unit in unit_tree().villages()]
    events = []
    for i in range(n):
        resident, unit, woman = uuid.uuid4(), villages[i % len(villages)], i % 2 == 0
        events.append(
            Envelope.new(
                event_type="ResidentRegistered", stream_id=f"resident-{resident}", stream_version=1, unit_code=unit,
                source="registry", occurred_at=datetime.now(UTC),
                payload={
                    "resident_id": str(resident), "sex": "female" if woman else "male",
                    "birth_date": date(1988, 3, 15).isoformat(), "marital_status": "married" if woman else "unmarried",
                    "population": "migrant", "household_registration_place": "371322", "unit_code": unit,
                    "arrived_from": "371322",
                    "personal": {"key_id": str(uuid.uuid4()), "nonce": "bm9uY2U=", "ciphertext": "c2VhbGVk"},
                },
            )
        )
    return events


async def _namespace(ctx: Context, stage: str) -> Topics:
    topics = Topics(f"bench-{ctx.run_id}-{stage}.")
    await ensure_topics(ctx.bootstrap_servers, topics.public, partitions=PARTITIONS, keep_forever=False)
    ctx.topics.extend(topics.public)
    return topics


async def _publish(producer: AIOKafkaProducer, topic: str, events: list[Envelope]) -> None:
    sends = [await producer.send(topic, value=e.to_bytes(), key=e.key) for e in events]
    await asyncio.gather(*sends)


async def decisions(ctx: Context, producer: AIOKafkaProducer, n: int) -> tuple[float, float]:
    """Notifications decided per second by the projection, and its raw limit (events/s)."""
    topics = await _namespace(ctx, "decide")
    await _publish(producer, topics.registry_events, arrivals(n))
    schema = ctx.schema("notifier_decide")
    projection = DecisionsProjection(topics, schema, load_rulebook(), unit_tree(), SYSTEM_CLOCK, catalogue)
    runner = ProjectionRunner(
        projection, pool=ctx.pool, schema=schema, bootstrap_servers=ctx.bootstrap_servers, producer=producer,
        catalogue=catalogue,
    )
    await runner.setup()
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop), name="decisions")
    started = await observed(lambda: len(runner.stats.assigned) == PARTITIONS * len(projection.topics), watching=[task])
    done = await observed(lambda: runner.stats.applied >= n, watching=[task])
    stop.set()
    await task
    assert projection.decided == n and runner.stats.dead_lettered == 0, (projection.decided, runner.stats)
    await ctx.drop_schema(schema)
    return rate(projection.decided, done - started), await raw.consume(ctx, topics.registry_events, n)


class _Webhook:
    """A minimal HTTP/1.1 receiver: notes when each cause's notification first arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
                length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
                body = json.loads(await reader.readexactly(length))
                self.arrived.setdefault(body["caused_by_event_id"], time.time())
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def _paced(send, events: list[Any], per_second: int) -> list[tuple[Any, float]]:
    """Send ``events`` at a steady rate; each with when it was sent (wall clock)."""
    sent: list[tuple[Any, float]] = []
    tick, per_tick = 0.05, max(1, round(per_second * 0.05))
    started = time.perf_counter()
    for i in range(0, len(events), per_tick):
        for event in events[i : i + per_tick]:
            sent.append((event, time.time()))
            await send(event)
        await asyncio.sleep(max(0.0, started + (i // per_tick + 1) * tick - time.perf_counter()))
    return sent


def _percentiles(delays_ms: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(delays_ms, n=100, method="inclusive")
    return cuts[49], cuts[98]


async def delivery_delay(ctx: Context, producer: AIOKafkaProducer, n: int) -> dict[str, tuple[float, float]]:
    """p50 and p99 ms from an event's send to its notification in the inbox and at the webhook."""
    topics = await _namespace(ctx, "deliver")
    schema = ctx.schema("notifier_deliver")
    webhook = _Webhook()
    url = await webhook.start()
    settings = Settings(
        _env_file=None, kafka_bootstrap_servers=ctx.bootstrap_servers, database_url=ctx.database_url,
        topic_namespace=topics.namespace, log_level="WARNING", http_timeout_seconds=5, database_schema=schema,
    )
    notifier = build(settings)
    await notifier.runtime.start()
    try:
        assert notifier.runtime.pool is not None
        villages = [unit.code for unit in unit_tree().villages()]
        await notifier.runtime.pool.executemany(
            f"INSERT INTO {schema}.subscriptions (recipient, channel, address) VALUES ($1, 'webhook', $2)",
            [(f"unit:{code}", url) for code in villages],
        )
        runner = notifier.runtime.runners[0]
        await observed(lambda: len(runner.stats.assigned) == PARTITIONS * 3 and all(
            w.is_leader for w in notifier.workers.values()))
        await warm_producer(producer, topics.registry_events, topics.notifier_events)
        events = arrivals(n)

        async def send(event: Envelope) -> None:
            await producer.send(topics.registry_events, value=event.to_bytes(), key=event.key)

        sent = {str(e.event_id): at for e, at in await _paced(send, events, EVENTS_PER_SECOND)}
        await observed(lambda: len(webhook.arrived) >= n, interval=0.05)
        rows = await notifier.runtime.pool.fetch(
            f"SELECT caused_by_event_id, delivered_at FROM {schema}.inbox"
        )
        assert len(rows) == n, len(rows)
        inbox = [(r["delivered_at"].timestamp() - sent[str(r["caused_by_event_id"])]) * 1000 for r in rows]
        hooks = [(at - sent[cause]) * 1000 for cause, at in webhook.arrived.items()]
    finally:
        await notifier.runtime.stop()
        await webhook.stop()
    return {"inbox": _percentiles(inbox), "webhook": _percentiles(hooks)}


async def bus_delay(ctx: Context, n: int) -> tuple[float, float]:
    """The bus alone at the same rate: a plain producer to a plain consumer, p50 and p99 ms."""
    topic = await ctx.topic("notifier_bus")
    consumer = await raw._assigned_from_start(ctx, topic)
    producer = raw.plain_producer(ctx.bootstrap_servers)
    await producer.start()
    arrived: dict[bytes, float] = {}

    async def consume() -> None:
        while len(arrived) < n:
            for records in (await consumer.getmany(timeout_ms=100)).values():
                for record in records:
                    arrived.setdefault(record.value, time.time())

    try:
        reading = asyncio.create_task(consume())
        messages = [uuid.uuid4().bytes for _ in range(n)]
        sent = await _paced(lambda m: producer.send(topic, value=m, key=m[:4]), messages, EVENTS_PER_SECOND)
        await reading
    finally:
        await producer.stop()
        await consumer.stop()
    return _percentiles([(arrived[m] - at) * 1000 for m, at in sent])


def _row(name: str, value: float, unit: str, limit_name: str | None = None, limit: float | None = None) -> dict:
    return {
        "name": name, "value": round(value, 1), "unit": unit, "limit_name": limit_name,
        "limit_value": None if limit is None else round(limit, 1),
        "ratio": None if not limit else round(value / limit, 3),
    }


async def run(bootstrap_servers: str, database_url: str, quick: bool) -> list[dict]:
    ctx = await Context.open(bootstrap_servers, database_url)
    producer = idempotent_producer(bootstrap_servers)
    await producer.start()
    try:
        n = DECIDE_EVENTS[quick]
        decided, consumed = await decisions(ctx, producer, n)
        m = DELAY_EVENTS[quick]
        delays = await delivery_delay(ctx, producer, m)
        bus_p50, bus_p99 = await bus_delay(ctx, m)
    finally:
        await producer.stop()
        await ctx.close()
    feed = f"{m:,} events at {EVENTS_PER_SECOND}/s"
    return [
        _row(f"notifications decided (notifier rules, {n:,} arrivals, 1 notification each)", decided,
             "notifications/s", "aiokafka consumer, same events, no decoding", consumed),
        _row(f"event to inbox, p50 ({feed})", delays["inbox"][0], "ms", "aiokafka producer to consumer, p50", bus_p50),
        _row(f"event to inbox, p99 ({feed})", delays["inbox"][1], "ms", "aiokafka producer to consumer, p99", bus_p99),
        _row(f"event to webhook, p50 ({feed})", delays["webhook"][0], "ms", "aiokafka producer to consumer, p50",
             bus_p50),
        _row(f"event to webhook, p99 ({feed})", delays["webhook"][1], "ms", "aiokafka producer to consumer, p99",
             bus_p99),
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notifier", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args(argv)
    rows = asyncio.run(run(os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"], args.quick))
    for row in rows:
        limit = f"   {row['limit_name']}: {row['limit_value']:,} (ratio {row['ratio']})" if row["limit_name"] else ""
        print(f"{row['name']}: {row['value']:,} {row['unit']}{limit}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
