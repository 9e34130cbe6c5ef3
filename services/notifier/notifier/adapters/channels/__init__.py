"""The ways a notification reaches its recipient. Each channel has its own delivery worker,
so one that is down never holds up the others.

A channel's ``send`` either returns (the receiver has it) or raises :class:`SendFailed`,
saying whether trying again could help. It sends ``Outgoing.delivery_id`` as the
idempotency key: after a crash between sending and recording, the same delivery is sent
again with the same key, and the receiver applies it once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta

from notifier.adapters.queue import Outgoing


class SendFailed(Exception):
    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


class Channel(ABC):
    name: str
    per_recipient: int = 10  # how much of one recipient's queue a round may send, in order
    batched: bool = False  # sends a whole round at once, in order, all or nothing (send_batch)

    async def start(self) -> None:
        """Open what the channel needs (an HTTP client...)."""

    async def stop(self) -> None:
        """Close it."""

    def quiet_until(self, now: datetime) -> datetime | None:
        """When sending is not allowed now (SMS at night): the moment it is allowed again."""
        return None

    @abstractmethod
    async def send(self, item: Outgoing, now: datetime) -> None:
        """Hand the notification to the receiver, or raise SendFailed."""

    async def send_batch(self, items: list[Outgoing], now: datetime) -> None:
        """Hand over a whole round, in order (only for ``batched`` channels)."""
        raise NotImplementedError


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off: base, 2×base, 4×base... capped; dead-lettered after ``max_attempts``
    or at once when the receiver refused for good. No jitter: one worker per channel sends,
    so there is no herd to spread."""

    max_attempts: int = 6
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)

    def retry_in(self, attempt: int, failure: SendFailed) -> timedelta | None:
        if failure.permanent or attempt >= self.max_attempts:
            return None
        return min(self.base * 2 ** (attempt - 1), self.cap)


def http_failure(status: int, body: str, who: str) -> SendFailed:
    """A receiver's HTTP answer as a failure: 408, 429 and 5xx may pass, other 4xx will not."""
    transient = status in (408, 425, 429) or status >= 500
    return SendFailed(f"HTTP {status} from {who}: {body.strip()[:200]}", permanent=not transient)
