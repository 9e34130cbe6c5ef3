"""Fixtures for the notifier's tests: its own schema and topic namespace per test, a settable
clock, and real local receivers (HTTP for webhooks and the SMS gateway, SMTP for e-mail)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from notifier_receivers import HttpReceiver, SmtpServer
from notifier_story import Story, at

from platform_kit.clock import SettableClock
from platform_kit.envelope import Envelope
from platform_kit.testing import bearer, wait_until

from notifier.adapters import views
from notifier.bootstrap import Notifier, Settings, build

SECRET = "webhook-secret-for-tests"


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(at("2013-12-03", 10))


@pytest.fixture
def story() -> Story:
    return Story()


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    server = HttpReceiver(SECRET)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def smtp() -> Any:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def settings_for(stack, namespace: str, receiver: HttpReceiver, smtp: SmtpServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": stack.bootstrap_servers,
        "database_url": stack.database_url,
        "topic_namespace": namespace,
        "log_format": "console",
        "log_level": "WARNING",
        "relay_idle_poll_seconds": 0.05,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "sms_gateway_url": receiver.sms_url,
        "webhook_secret": SECRET,
        "retry_base_seconds": 0.01,
        "delivery_poll_seconds": 0.05,
        "scheduler_poll_seconds": 0.05,
        "http_timeout_seconds": 5,
    }
    return Settings(**(values | overrides))


@dataclass
class Running:
    """A started notifier and what a test does with it."""

    notifier: Notifier
    producer: Any
    clock: SettableClock

    @property
    def pool(self):
        return self.notifier.runtime.pool

    @property
    def schema(self) -> str:
        return self.notifier.runtime.schema

    async def publish(self, *events: Envelope) -> None:
        topics = self.notifier.runtime.topics
        route = {"registry": topics.registry_events, "services-log": topics.services_events,
                 "assessment": topics.assessment_events}
        sends = [await self.producer.send(route[e.source], value=e.to_bytes(), key=e.key) for e in events]
        await asyncio.gather(*sends)

    def api(self) -> httpx.AsyncClient:
        """The notifier's HTTP API, called in-process."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.notifier.app), base_url="http://notifier", headers=bearer())

    async def subscribe(self, recipient: str, channel: str, address: str) -> None:
        await views.subscribe(self.pool, self.schema, recipient, channel, address)

    async def decided(self, event: Envelope) -> list[Any]:
        """Wait until the event has been through the rules; the notifications it caused."""
        await self.until_applied(event)
        return await views.caused_by(self.pool, self.schema, event.event_id)

    async def until_applied(self, *events: Envelope) -> None:
        async def applied() -> bool:
            # The projection keeps a high-water mark per stream: an event is applied once its
            # stream's mark has reached its version.
            marks = dict(await self.pool.fetch(
                f"SELECT stream_id, max(version) FROM {self.schema}.applied_stream_versions"
                " WHERE stream_id = ANY($1::text[]) GROUP BY stream_id", [e.stream_id for e in events],
            ))
            return all(marks.get(e.stream_id, 0) >= e.stream_version for e in events)

        await wait_until(applied, timeout=60, what="the notifier applied the events")

    async def inbox(self, recipient: str) -> list[Any]:
        return await self.pool.fetch(f"SELECT * FROM {self.schema}.inbox WHERE recipient = $1 ORDER BY seq", recipient)

    async def until_inbox(self, recipient: str, count: int) -> list[Any]:
        async def arrived() -> bool:
            return len(await self.inbox(recipient)) >= count

        await wait_until(arrived, timeout=60, what=f"{count} notifications in the inbox of {recipient}")
        return await self.inbox(recipient)

    async def notifications(self, rule: str | None = None) -> list[Any]:
        return await self.pool.fetch(
            f"SELECT * FROM {self.schema}.notifications WHERE $1::text IS NULL OR rule = $1 ORDER BY seq", rule
        )

    async def deliveries(self, channel: str, state: str | None = None) -> list[Any]:
        return await self.pool.fetch(
            f"SELECT * FROM {self.schema}.deliveries WHERE channel = $1 AND ($2::text IS NULL OR state = $2) "
            "ORDER BY seq",
            channel, state,
        )

    async def until_deliveries(self, channel: str, state: str, count: int) -> list[Any]:
        async def reached() -> bool:
            return len(await self.deliveries(channel, state)) >= count

        await wait_until(reached, timeout=60, what=f"{count} {channel} deliveries {state}")
        return await self.deliveries(channel, state)

    async def until_attempted(self, channel: str, recipient: str, attempts: int) -> Any:
        """Wait until the head of a recipient's queue has failed ``attempts`` times (or given up)."""
        query = (f"SELECT * FROM {self.schema}.deliveries WHERE channel = $1 AND recipient = $2 "
                 "AND (attempts >= $3 OR state = 'dead') ORDER BY seq LIMIT 1")

        async def failed() -> bool:
            return await self.pool.fetchrow(query, channel, recipient, attempts) is not None

        await wait_until(failed, timeout=30, what=f"{channel} to {recipient} tried {attempts} times")
        return await self.pool.fetchrow(query, channel, recipient, attempts)

    async def until_deferred(self, channel: str) -> list[Any]:
        async def deferred() -> bool:
            return any(d["deferred_reason"] for d in await self.deliveries(channel))

        await wait_until(deferred, timeout=30, what=f"a {channel} delivery deferred")
        return await self.deliveries(channel)

    async def timers(self, rule: str) -> list[Any]:
        return await self.pool.fetch(f"SELECT * FROM {self.schema}.timers WHERE rule = $1 ORDER BY fire_at, step", rule)

    async def move_clock_to(self, moment: datetime) -> None:
        """Set the clock and wait until the scheduler has fired everything due by then."""
        self.clock.set(moment)
        scheduler = self.notifier.scheduler
        assert scheduler is not None

        async def caught_up() -> bool:
            return scheduler.caught_up_to is not None and scheduler.caught_up_to >= moment

        await wait_until(caught_up, timeout=30, what=f"the scheduler caught up to {moment}")


@pytest.fixture
async def start_notifier(stack, schema, namespace, clock, receiver, smtp, producer) -> AsyncIterator[Callable]:
    """Start the notifier (settings overridable); stopped at the end of the test."""
    started: list[Notifier] = []

    async def start(**overrides: Any) -> Running:
        notifier = build(settings_for(stack, namespace, receiver, smtp, database_schema=schema, **overrides), clock=clock)
        await notifier.runtime.start()
        started.append(notifier)
        return Running(notifier, producer, clock)

    yield start
    for notifier in started:
        await notifier.runtime.stop()


@pytest.fixture
async def running(start_notifier) -> Running:
    return await start_notifier()
