"""A delivery worker: one per channel, sending that channel's queue in order per recipient.

One worker per channel leads at a time (a PostgreSQL advisory lock held on its own
connection, as the kit's relay does); a replica's worker waits as a standby and takes over
when the leader's connection dies. Each round takes the ready part of every recipient's
queue, serves the recipients concurrently (each one's notifications one after the other),
and then records all outcomes in one transaction, with their events.

The window between sending and recording is the one a crash can hit: the delivery is still
pending, so it is sent again, with the same idempotency key. At least once, and once in
effect at a receiver that honours the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import asyncpg
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from platform_kit import metrics, tracing
from platform_kit.clock import Clock
from platform_kit.database import connect
from platform_kit.event_store import EventStore
from platform_kit.logs import get_logger

from notifier.adapters import queue
from notifier.adapters.channels import Channel, RetryPolicy, SendFailed
from notifier.adapters.queue import Delivered, Failed, Outcome, Outgoing
from notifier.adapters.tables import deliveries_channel

log = get_logger(__name__)

AfterSend = Callable[[Outgoing], Awaitable[None]]


@dataclass
class WorkerStats:
    delivered: int = 0
    failed: int = 0
    dead_lettered: int = 0
    deferred: int = 0
    rounds: int = 0


class DeliveryWorker:
    def __init__(
        self, channel: Channel, *, pool: asyncpg.Pool, database_url: str, schema: str, store: EventStore,
        clock: Clock, policy: RetryPolicy, concurrency: int = 20, poll_seconds: float = 1.0,
        recipients_per_round: int = 500, after_send: AfterSend | None = None,
    ) -> None:
        """``after_send`` runs after a send succeeded and before it is recorded: the window a
        crash test aims at."""
        self.channel, self.pool, self.database_url, self.schema = channel, pool, database_url, schema
        self.store, self.clock, self.policy = store, clock, policy
        self.concurrency, self.poll_seconds, self.recipients_per_round = concurrency, poll_seconds, recipients_per_round
        self.after_send = after_send
        self.stats = WorkerStats()
        self.outcomes = metrics.counter(  # at /metrics: docs/operations.md
            "msp_notifier_deliveries", "Delivery attempts by channel and outcome", ("channel", "outcome"))
        self.is_leader = False
        self._wake = asyncio.Event()
        self._traced: dict[uuid.UUID, str] = {}  # this round's causes -> their delivery's trace context

    async def run(self, stop: asyncio.Event) -> None:
        conn = await connect(self.database_url)
        try:
            if not await self._lead(conn, stop):
                return
            await conn.add_listener(deliveries_channel(self.schema), lambda *_: self._wake.set())
            log.info("delivery.leading", channel=self.channel.name)
            while not stop.is_set():
                self._wake.clear()
                if await self.deliver_round() == 0:
                    await self._idle(stop)
        finally:
            self.is_leader = False
            await conn.close()

    async def _lead(self, conn: asyncpg.Connection, stop: asyncio.Event) -> bool:
        key = f"notifier-delivery:{self.schema}:{self.channel.name}"
        while not stop.is_set():
            if await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", key):
                self.is_leader = True
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)
        return False

    async def _idle(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        await asyncio.wait(waiters, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def deliver_round(self) -> int:
        """Send what is ready now; returns how many deliveries were tried."""
        now = self.clock.now()
        self._traced = {}
        async with self.pool.acquire() as conn:
            queues = await queue.ready(
                conn, self.schema, self.channel.name, now,
                per_recipient=self.channel.per_recipient, recipients=self.recipients_per_round,
            )
            if not queues:
                return 0
            if (until := self.channel.quiet_until(now)) is not None:
                heads = [q[0] for q in queues]
                await queue.defer(conn, self.schema, heads, until, f"quiet hours until {until.isoformat()}")
                self.stats.deferred += len(heads)
                self.outcomes.labels(self.channel.name, "deferred").inc(len(heads))
                return 0
        if self.channel.batched:
            outcomes = await self._serve_batch(sorted((i for q in queues for i in q), key=lambda i: i.seq))
        else:
            limit = asyncio.Semaphore(self.concurrency)

            async def serve(items: list[Outgoing]) -> list[Outcome]:
                async with limit:
                    return await self._serve(items)

            outcomes = [o for served in await asyncio.gather(*(serve(q) for q in queues)) for o in served]
        # NotificationDelivered continues the trace of its delivery, not the worker's.
        with tracing.caused_by(self._traced):
            async with self.pool.acquire() as conn:
                await queue.record(conn, self.schema, self.store, outcomes)
        self._count(outcomes)
        return len(outcomes)

    async def _serve(self, items: list[Outgoing]) -> list[Outcome]:
        """One recipient's ready notifications, in order; a failure that will be retried
        stops the rest, so nothing overtakes it."""
        outcomes: list[Outcome] = []
        for item in items:
            attempt = item.attempts + 1
            try:
                with self._span(item):
                    await self.channel.send(item, self.clock.now())
            except Exception as error:  # a channel bug must not stop the other recipients
                failure = error if isinstance(error, SendFailed) else SendFailed(f"{type(error).__name__}: {error}")
                wait = self.policy.retry_in(attempt, failure)
                now = self.clock.now()
                outcomes.append(Failed(item, attempt, now, failure.reason, now + wait if wait else None))
                log.warning("delivery.failed", channel=item.channel, recipient=item.recipient,
                            delivery_id=str(item.delivery_id), attempt=attempt, error=failure.reason,
                            dead_lettered=wait is None)
                if wait is not None:
                    break
                continue
            if self.after_send is not None:
                await self.after_send(item)
            outcomes.append(Delivered(item, attempt, self.clock.now()))
        return outcomes

    async def _serve_batch(self, items: list[Outgoing]) -> list[Outcome]:
        """A channel that takes a whole round at once (the inbox): all delivered, or none."""
        try:
            with contextlib.ExitStack() as spans:
                for item in items:
                    spans.enter_context(self._span(item, current=False))
                await self.channel.send_batch(items, self.clock.now())
        except Exception as error:
            failure = error if isinstance(error, SendFailed) else SendFailed(f"{type(error).__name__}: {error}")
            now = self.clock.now()
            heads = {item.recipient: item for item in reversed(items)}.values()  # each recipient's first waits
            return [
                Failed(item, item.attempts + 1, now, failure.reason,
                       now + wait if (wait := self.policy.retry_in(item.attempts + 1, failure)) else None)
                for item in heads
            ]
        if self.after_send is not None:
            for item in items:
                await self.after_send(item)
        now = self.clock.now()
        return [Delivered(item, item.attempts + 1, now) for item in items]

    @contextlib.contextmanager
    def _span(self, item: Outgoing, *, current: bool = True) -> Iterator[None]:
        """The delivery as a client span in the trace of the event that caused it; current while
        one item is sent, so the channel passes its traceparent on (the webhook's header)."""
        span = tracing.start_span(
            f"deliver {item.channel}", item.traceparent, SpanKind.CLIENT,
            {"notifier.delivery_id": str(item.delivery_id), "notifier.rule": item.rule, "notifier.attempt": item.attempts + 1},
        )
        if (traceparent := tracing.traceparent_of_span(span)) is not None:
            self._traced[item.caused_by_event_id] = traceparent
        with trace.use_span(span, end_on_exit=True) if current else _ending(span):
            yield

    def _count(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            if isinstance(o, Delivered):
                self.stats.delivered += 1
                self.outcomes.labels(self.channel.name, "delivered").inc()
            elif o.retry_at is None:
                self.stats.dead_lettered += 1
                self.outcomes.labels(self.channel.name, "dead_lettered").inc()
            else:
                self.stats.failed += 1
                self.outcomes.labels(self.channel.name, "failed").inc()
        self.stats.rounds += 1


@contextlib.contextmanager
def _ending(span: Span) -> Iterator[None]:
    try:
        yield
    except Exception as error:
        span.record_exception(error)
        span.set_status(trace.Status(trace.StatusCode.ERROR, type(error).__name__))
        raise
    finally:
        span.end()
