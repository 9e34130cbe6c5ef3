"""A batch of events decided in order, in memory, before one write to the database.

The projection applies events in batches. Each event is decided with what is known after the
events before it (a registration and a move in one batch). Closings and cancellations stop
the timers they apply to (see ``domain.model``), those opened earlier in the batch here, in
memory, and they are remembered, so a timer opened later in the batch for a watch already
fulfilled, or already pointless, starts stopped. Two openings of one step of one watch (two
services, on two streams) keep the one opened later in business time waiting, whichever
arrived first (``model.opened_later``). The database does the same for what was stored before
the batch (``adapters.plans``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

from platform_kit.envelope import Envelope
from platform_kit.units import UnitTree

from notifier.domain.decisions import decide, fire
from notifier.domain.facts import Resident, concerned_resident
from notifier.domain.model import (
    Cancellation, Closing, Decision, Notification, Stop, Timer, TimerState, opened_later, superseded,
)
from notifier.domain.rulebook import Rulebook


@dataclass
class Plan:
    """What a batch decided, ready to be written in one transaction."""

    residents: dict[uuid.UUID, Resident] = field(default_factory=dict)  # changed ones only
    notifications: list[Notification] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    closings: list[Closing] = field(default_factory=list)
    cancellations: list[Cancellation] = field(default_factory=list)
    fired: dict[uuid.UUID, TimerState] = field(default_factory=dict)  # timers whose time came


def _scope(item: Timer | Stop) -> tuple[str, str]:
    """Where a stop can apply: a closing to one subject, a cancellation to one person."""
    if isinstance(item, Closing):
        return ("subject", f"{item.rule}|{item.subject}")
    if isinstance(item, Cancellation):
        return ("resident", f"{item.rule}|{item.resident_id}")
    raise TypeError(item)


class Planner:
    def __init__(self, book: Rulebook, tree: UnitTree, known: dict[uuid.UUID, Resident]) -> None:
        self.book, self.tree = book, tree
        self.known = dict(known)
        self.plan = Plan()
        self._timers: dict[uuid.UUID, Timer] = {}
        self._pending: dict[tuple[str, str, int], uuid.UUID] = {}
        self._stops: dict[tuple[str, str], list[Stop]] = defaultdict(list)
        self._waiting: dict[tuple[str, str], set[uuid.UUID]] = defaultdict(set)  # pending timers by scope

    def take(self, event: Envelope) -> None:
        resident_id = concerned_resident(event)
        before = self.known.get(resident_id) if resident_id else None
        decision = decide(event, before, self.book, self.tree)
        if resident_id and decision.resident is not None and decision.resident != before:
            self.known[resident_id] = self.plan.residents[resident_id] = decision.resident
        self._add(decision)

    def take_due(self, timer: Timer, now: datetime) -> None:
        """A stored timer whose time has come."""
        resident = self.known.get(timer.resident_id) if timer.resident_id else None
        decision = fire(timer, resident, now, self.book, self.tree)
        sent = decision.notifications or timer.step < 0
        self.plan.fired[timer.timer_id] = "fired" if sent else "expired"
        self._add(decision)

    def result(self) -> Plan:
        self.plan.timers = list(self._timers.values())
        return self.plan

    def _add(self, decision: Decision) -> None:
        for stop in [*decision.cancellations, *decision.closings]:
            self._stops[_scope(stop)].append(stop)
            for timer_id in list(self._waiting[_scope(stop)]):
                if stop.stops(self._timers[timer_id]):
                    self._stopped(self._timers[timer_id], stop)
        for timer in decision.timers:
            known_stops = (s for scope in self._scopes(timer) for s in self._stops.get(scope, ()))
            stop = next((s for s in known_stops if s.stops(timer)), None)
            if stop is not None:
                self._timers[timer.timer_id] = timer
                self._stopped(timer, stop)
            elif (held := self._pending.get(timer.key)) is None:
                self._wait(timer)
            elif opened_later(timer, self._timers[held]):
                self._timers[held] = superseded(self._timers[held], timer)
                self._unwait(self._timers[held])
                self._wait(timer)
            else:
                self._timers[timer.timer_id] = superseded(timer, self._timers[held])
        self.plan.notifications += decision.notifications
        self.plan.closings += decision.closings
        self.plan.cancellations += decision.cancellations

    @staticmethod
    def _scopes(timer: Timer) -> list[tuple[str, str]]:
        scopes = [("subject", f"{timer.rule}|{timer.subject}")]
        if timer.resident_id:
            scopes.append(("resident", f"{timer.rule}|{timer.resident_id}"))
        return scopes

    def _wait(self, timer: Timer) -> None:
        self._timers[timer.timer_id] = timer
        self._pending[timer.key] = timer.timer_id
        for scope in self._scopes(timer):
            self._waiting[scope].add(timer.timer_id)

    def _stopped(self, timer: Timer, stop: Stop) -> None:
        self._timers[timer.timer_id] = replace(
            timer, state=stop.state, stopped_by_event_id=stop.by_event_id, stopped_reason=stop.reason
        )
        self._unwait(timer)

    def _unwait(self, timer: Timer) -> None:
        if self._pending.get(timer.key) == timer.timer_id:
            del self._pending[timer.key]
        for scope in self._scopes(timer):
            self._waiting[scope].discard(timer.timer_id)
