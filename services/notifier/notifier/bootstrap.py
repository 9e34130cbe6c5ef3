"""The one place the notifier is wired: the kit's runtime (event store, relay to
notifier.events, the decisions projection over the registry, services and assessment
topics), the scheduler, one delivery worker per channel, and the HTTP app. Tests call the
same bootstrap with their own settings, schema, clock and rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from importlib.metadata import version

from platform_kit.contract import catalogue
from platform_kit.runtime import Loop, ServiceRuntime
from platform_kit.topics import Topics
from platform_kit.units import unit_tree

from notifier.channels import Channel, RetryPolicy
from notifier.channels.inbox import InboxChannel
from notifier.channels.mail import EmailChannel
from notifier.channels.sms import SmsChannel
from notifier.channels.webhook import WebhookChannel
from notifier.clock import Clock
from notifier.domain.rulebook import Rulebook, load_rulebook
from notifier.entrypoints import http
from notifier.service_layer.deciding import DecisionsProjection
from notifier.service_layer.delivering import AfterSend, DeliveryWorker
from notifier.service_layer.scheduler import Scheduler
from notifier.settings import NotifierSettings

DESCRIPTION = (
    "Who must be told: inflow notices, due-service reminders, verification requests (协查) and "
    "rectification orders for 市中区's migrant-population services, by inbox, webhook, e-mail and SMS. "
    "Rules: notifier/rules.toml (docs/notifier.md)."
)


class _Runtime(ServiceRuntime):
    """The kit's runtime, plus loops that need the started runtime (its pool, its store)."""

    def __init__(self, *args, loops: Callable[[], Awaitable[dict[str, Loop]]],
                 closing: Callable[[], Awaitable[None]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._loops, self._closing = loops, closing

    async def start(self) -> None:
        await super().start()
        for name, loop in (await self._loops()).items():
            self.supervise(name, loop)

    async def stop(self) -> None:
        await super().stop()
        await self._closing()


class Notifier:
    def __init__(
        self,
        settings: NotifierSettings | None = None,
        *,
        schema: str = "notifier",
        clock: Clock | None = None,
        rulebook: Rulebook | None = None,
        after_send: AfterSend | None = None,
    ) -> None:
        self.settings = settings or NotifierSettings()
        self.schema = schema
        self.clock = clock or self.settings.clock()  # the machine's, or the demo's replay of a past year
        self.rulebook = rulebook or load_rulebook(self.settings.rules_file)
        self.tree = unit_tree()
        self.topics = Topics(self.settings.topic_namespace)
        self.after_send = after_send
        self.decisions = DecisionsProjection(self.topics, schema, self.rulebook, self.tree, self.clock, catalogue)
        self.runtime = _Runtime(
            self.settings, schema=schema, publishes_to=self.topics.notifier_events, projections=[self.decisions],
            catalogue=catalogue, loops=self._loops, closing=self._close_channels,
        )
        self.scheduler: Scheduler | None = None
        self.workers: dict[str, DeliveryWorker] = {}
        self.app = self.runtime.http_app(
            title="notifier", version=version("notifier"), description=DESCRIPTION, routers=[http.router(self)]
        )

    async def start(self) -> None:
        await self.runtime.start()

    async def stop(self) -> None:
        await self.runtime.stop()

    def channels(self) -> list[Channel]:
        s, pool = self.settings, self.runtime.pool
        assert pool is not None
        return [
            InboxChannel(pool, self.schema),
            WebhookChannel(s.webhook_secret.get_secret_value(), timeout_seconds=s.http_timeout_seconds),
            EmailChannel(s.smtp_host, s.smtp_port, s.smtp_sender, timeout_seconds=s.smtp_timeout_seconds),
            SmsChannel(
                s.sms_gateway_url, quiet_start=s.sms_quiet_hours_start, quiet_end=s.sms_quiet_hours_end,
                tz=self.rulebook.calendar.tz, timeout_seconds=s.http_timeout_seconds,
            ),
        ]

    async def _loops(self) -> dict[str, Loop]:
        s, runtime = self.settings, self.runtime
        assert runtime.pool is not None and runtime.store is not None
        self.scheduler = Scheduler(
            pool=runtime.pool, schema=self.schema, book=self.rulebook, tree=self.tree, clock=self.clock,
            poll_seconds=s.scheduler_poll_seconds,
        )
        policy = RetryPolicy(
            s.max_attempts, timedelta(seconds=s.retry_base_seconds), timedelta(seconds=s.retry_max_seconds)
        )
        self.workers = {}
        for channel in self.channels():
            await channel.start()
            self.workers[channel.name] = DeliveryWorker(
                channel, pool=runtime.pool, database_url=s.database_url, schema=self.schema, store=runtime.store,
                clock=self.clock, policy=policy, concurrency=s.delivery_concurrency,
                poll_seconds=s.delivery_poll_seconds, after_send=self.after_send,
            )
        return {"scheduler": self.scheduler.run} | {f"delivery:{n}": w.run for n, w in self.workers.items()}

    async def _close_channels(self) -> None:
        for worker in self.workers.values():
            await worker.channel.stop()


def create_app(settings: NotifierSettings | None = None):
    """The ASGI app ``python -m notifier`` serves."""
    return Notifier(settings).app
