"""The four stages, each the kit beside its raw limit, measured in turns on the same machine."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaProducer

from bench import raw, stages
from bench.context import Context
from bench.report import Result
from bench.workload import Message, in_commit_order
from platform_kit.envelope import Envelope
from platform_kit.testing import read_topic_to_end

EVENTS_PER_SECOND = "events/s"
Measure = Callable[[], Awaitable[float]]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def best_of(rounds: int, kit: Measure, limit: Measure) -> tuple[float, float]:
    """The best rate of the kit and of its raw limit over ``rounds`` rounds, taken in turns
    (kit first, then raw first, ...) so that both see the same machine."""
    kits: list[float] = []
    limits: list[float] = []
    for i in range(rounds):
        pair = [(kit, kits), (limit, limits)]
        for measure, rates in pair if i % 2 == 0 else reversed(pair):
            rates.append(await measure())
    if rounds > 1:
        say(f"    kit {', '.join(f'{r:,.0f}' for r in kits)}; raw {', '.join(f'{r:,.0f}' for r in limits)}")
    return max(kits), max(limits)


class Suite:
    def __init__(
        self, ctx: Context, producer: AIOKafkaProducer, events: list[Envelope], batch: int, rounds: int, warmup: str
    ) -> None:
        self.ctx, self.producer, self.events, self.batch, self.rounds = ctx, producer, events, batch, rounds
        self.warmup = warmup  # a topic for warm-up sends
        self.relay_topics: list[str] = []  # the first one holds the N messages the later stages use
        self.messages: list[Message] = []

    async def run(self) -> list[Result]:
        return [await self.append(), await self.relay(), await self.projection(), await self.end_to_end()]

    async def _result(self, name: str, kit: Measure, limit_name: str, limit: Measure) -> Result:
        say(f"{name} ...")
        value, limit_value = await best_of(self.rounds, kit, limit)
        result = Result(name, value, EVENTS_PER_SECOND, limit_name, limit_value)
        say(f"  {result.value:,.0f} / {result.limit_value:,.0f} {EVENTS_PER_SECOND} = {result.ratio:.2f}")
        return result

    async def append(self) -> Result:
        ctx, events, batch = self.ctx, self.events, self.batch
        # Untimed, on a twentieth of the events: whichever path ran first would otherwise pay
        # for the database's cold start (statements, catalogue, WAL) alone.
        warmup = events[: max(batch, len(events) // 20)]
        await stages.append(ctx, warmup, batch)
        await raw.copy(ctx, warmup, batch)
        return await self._result(
            f"append (EventStore.append, {batch}/call)", lambda: stages.append(ctx, events, batch),
            f"asyncpg copy_records_to_table ({batch}/call)", lambda: raw.copy(ctx, events, batch),
        )

    async def relay(self) -> Result:
        async def kit() -> float:
            rate, topic = await stages.relay_publish(self.ctx, self.events, self.batch, self.producer, self.warmup)
            self.relay_topics.append(topic)
            return rate

        async def limit() -> float:
            if not self.messages:  # the very bytes and keys the relay published
                records = await read_topic_to_end(self.ctx.bootstrap_servers, self.relay_topics[0], timeout=300)
                self.messages = in_commit_order(records, self.events)
            return await raw.produce(self.ctx, self.messages, self.warmup)

        return await self._result("relay publish (OutboxRelay)", kit, "aiokafka producer, same messages", limit)

    async def projection(self) -> Result:
        topic, n = self.relay_topics[0], len(self.events)
        return await self._result(
            "projection apply (ProjectionRunner)", lambda: stages.projection_apply(self.ctx, topic, n, self.producer),
            "aiokafka consumer, no decoding", lambda: raw.consume(self.ctx, topic, n),
        )

    async def end_to_end(self) -> Result:
        return await self._result(
            f"end to end (append {self.batch}/call + relay + projection)",
            lambda: stages.end_to_end(self.ctx, self.events, self.batch, self.producer, self.warmup),
            "aiokafka producer + consumer", lambda: raw.produce_consume(self.ctx, self.messages, self.warmup),
        )
