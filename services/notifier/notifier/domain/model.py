"""The notifier's vocabulary: a notification to send, a timer waiting for its day, and the
closings and cancellations that stop timers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar, Literal

from notifier.domain.facts import Resident

# Ids are derived from what caused them, never drawn at random: deciding the same event
# twice (a redelivery, a rebuild) yields the same ids, and the second insert is a no-op.
NAMESPACE = uuid.UUID("6f1d3c2a-9b8e-4f7a-a1c2-3d4e5f60718a")

TimerState = Literal["pending", "fired", "expired", "closed", "cancelled"]
ROLLOVER = -1  # the step of a repeating watch that opens its next period


def derived_id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "|".join(map(str, parts)))


@dataclass(frozen=True, slots=True)
class Cause:
    """The event a notification can be traced back to."""

    event_id: uuid.UUID
    correlation_id: uuid.UUID
    unit_code: str


@dataclass(frozen=True, slots=True)
class Notification:
    notification_id: uuid.UUID
    rule: str
    title: str
    step: str  # "notice", "opened", or days from the due date: "-14d", "+1d"
    recipient: str
    text: str
    unit_code: str  # the unit it belongs to
    cause: Cause


@dataclass(frozen=True, slots=True)
class Timer:
    """One step of a watch, waiting for ``fire_at`` (business time)."""

    timer_id: uuid.UUID
    rule: str
    subject: str
    step: int  # index in the watch's steps, or ROLLOVER
    at: int  # days from the due date
    fire_at: datetime
    due_at: datetime  # the moment the watch's due date has passed
    reminder: bool  # before the due date: pointless once it has passed
    recipients: tuple[str, ...]
    text: str
    resident_id: uuid.UUID | None
    cause: Cause
    opened_at: datetime  # business time: when what opened the watch happened
    facts: dict[str, Any] = field(default_factory=dict)  # kept for a repeat's next period
    state: TimerState = "pending"
    stopped_by_event_id: uuid.UUID | None = None
    stopped_reason: str | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.rule, self.subject, self.step)


# Closings and cancellations act on business time, not on the order events arrive in: the
# notifier reads three topics, so a service delivered on 5 November may reach it after a
# move on 10 November, or before the registration it follows. A stop applies to every watch
# opened at or before it happened (but never to one its own event opened), whether that
# watch is already stored or is opened later; so both are remembered.


@dataclass(frozen=True, slots=True)
class Closing:
    """A watch's purpose was fulfilled (the service delivered, the reply received)."""

    rule: str
    subject: str
    by_event_id: uuid.UUID
    occurred_at: datetime
    reason: str
    state: ClassVar[TimerState] = "closed"

    def stops(self, timer: Timer) -> bool:
        # A repeat's turn to its next period goes on: the next quarter still needs its check.
        return (
            timer.rule == self.rule and timer.subject == self.subject and timer.step != ROLLOVER
            and timer.opened_at <= self.occurred_at and timer.cause.event_id != self.by_event_id
        )


@dataclass(frozen=True, slots=True)
class Cancellation:
    """A person's watches of this rule became pointless (they moved away, left, changed status)."""

    rule: str
    resident_id: uuid.UUID
    by_event_id: uuid.UUID
    occurred_at: datetime
    reason: str
    state: ClassVar[TimerState] = "cancelled"

    def stops(self, timer: Timer) -> bool:
        return (
            timer.rule == self.rule and timer.resident_id == self.resident_id
            and timer.opened_at <= self.occurred_at and timer.cause.event_id != self.by_event_id
        )


Stop = Closing | Cancellation


# One step of one watch waits once for its subject (a person's follow-up, a unit's plan). Opened
# twice by events of two streams (contraceptives handed out twice in a month, two records), the
# one opened later in business time waits and the other is kept, cancelled, naming it: whichever
# of the two reached the notifier first, the same timers are kept (docs/audit.md, section 3).
SUPERSEDED = "superseded: the same watch was opened again later"


def opened_later(timer: Timer, other: Timer) -> bool:
    return (timer.opened_at, str(timer.timer_id)) > (other.opened_at, str(other.timer_id))


def superseded(timer: Timer, by: Timer) -> Timer:
    return replace(timer, state="cancelled", stopped_by_event_id=by.cause.event_id, stopped_reason=SUPERSEDED)


@dataclass
class Decision:
    resident: Resident | None = None
    notifications: list[Notification] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    closings: list[Closing] = field(default_factory=list)
    cancellations: list[Cancellation] = field(default_factory=list)
