"""The notifier declared to the kit's skeleton: its store relayed to notifier.events, the
decisions projection over the registry, services and assessment topics, its HTTP routers,
and its own loops (the scheduler, one delivery worker per channel) built once the pool and
the store are ready. Tests, the bench and ``python -m notifier`` all call :func:`build`."""

from __future__ import annotations

from datetime import timedelta

from platform_kit.clock import Clock
from platform_kit.contract import catalogue
from platform_kit.runtime import Loop, ServiceDeclaration, ServiceRuntime
from platform_kit.topics import Topics
from platform_kit.units import unit_tree

from notifier.adapters.channels import Channel, RetryPolicy
from notifier.adapters.channels.inbox import InboxChannel
from notifier.adapters.channels.mail import EmailChannel
from notifier.adapters.channels.sms import SmsChannel
from notifier.adapters.channels.webhook import WebhookChannel
from notifier.domain.rulebook import Rulebook, load_rulebook
from notifier.entrypoints import http
from notifier.entrypoints.projections import DecisionsProjection
from notifier.service_layer.delivering import AfterSend, DeliveryWorker
from notifier.service_layer.scheduler import Scheduler
from notifier.settings import NotifierSettings as Settings

DESCRIPTION = (
    "Who must be told: inflow notices, due-service reminders, verification requests (协查) and "
    "rectification orders for 市中区's migrant-population services, by inbox, webhook, e-mail and SMS. "
    "Rules: notifier/rules.toml (docs/notifier.md)."
)


class Notifier:
    """The running notifier: the kit's runtime and app, and the loops its ``setup`` built."""

    def __init__(self, settings: Settings, clock: Clock, rulebook: Rulebook, after_send: AfterSend | None) -> None:
        self.settings, self.clock, self.rulebook, self.after_send = settings, clock, rulebook, after_send
        self.tree = unit_tree()
        self.decisions = DecisionsProjection(
            Topics(settings.topic_namespace), settings.database_schema, rulebook, self.tree, clock, catalogue
        )
        self.scheduler: Scheduler | None = None
        self.workers: dict[str, DeliveryWorker] = {}
        declaration = ServiceDeclaration(
            name="notifier", title="notifier", description=DESCRIPTION, package="notifier",
            publishes_to=lambda topics: topics.notifier_events, projections=[self.decisions],
            routers=http.routers, setup=self.setup, loops=self.loops, teardown=self.teardown,
        )
        self.runtime = ServiceRuntime(settings, declaration, clock=clock)
        self.app = self.runtime.http_app()

    async def setup(self, runtime: ServiceRuntime) -> None:
        s, pool, store = self.settings, runtime.pool, runtime.store
        assert pool is not None and store is not None
        self.scheduler = Scheduler(
            pool=pool, schema=runtime.schema, book=self.rulebook, tree=self.tree, clock=self.clock,
            poll_seconds=s.scheduler_poll_seconds,
        )
        policy = RetryPolicy(s.max_attempts, timedelta(seconds=s.retry_base_seconds), timedelta(seconds=s.retry_max_seconds))
        self.workers = {}
        for channel in channels(s, runtime):
            await channel.start()
            self.workers[channel.name] = DeliveryWorker(
                channel, pool=pool, database_url=s.database_url, schema=runtime.schema, store=store, clock=self.clock,
                policy=policy, concurrency=s.delivery_concurrency, poll_seconds=s.delivery_poll_seconds,
                after_send=self.after_send,
            )

    def loops(self, _runtime: ServiceRuntime) -> dict[str, Loop]:
        assert self.scheduler is not None
        return {"scheduler": self.scheduler.run} | {f"delivery:{n}": w.run for n, w in self.workers.items()}

    async def teardown(self, _runtime: ServiceRuntime) -> None:
        for worker in self.workers.values():
            await worker.channel.stop()


def channels(s: Settings, runtime: ServiceRuntime) -> list[Channel]:
    assert runtime.pool is not None
    return [
        InboxChannel(runtime.pool, runtime.schema),
        WebhookChannel(s.webhook_secret.get_secret_value(), timeout_seconds=s.http_timeout_seconds),
        EmailChannel(s.smtp_host, s.smtp_port, s.smtp_sender, timeout_seconds=s.smtp_timeout_seconds),
        SmsChannel(s.sms_gateway_url, quiet_start=s.sms_quiet_hours_start, quiet_end=s.sms_quiet_hours_end,
                   timeout_seconds=s.http_timeout_seconds),
    ]


def build(
    settings: Settings | None = None, *, clock: Clock | None = None, rulebook: Rulebook | None = None,
    after_send: AfterSend | None = None,
) -> Notifier:
    """``clock``: the machine's, or the demo's replay of a past year, unless a test sets one."""
    settings = settings or Settings()
    return Notifier(settings, clock or settings.clock(), rulebook or load_rulebook(settings.rules_file), after_send)
