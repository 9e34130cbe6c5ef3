"""Helpers for pure rule tests: decide events with the packaged rules, read what came out."""

from __future__ import annotations

from platform_kit.envelope import Envelope
from platform_kit.units import unit_tree

from notifier.domain.decisions import decide
from notifier.domain.facts import Resident, concerned_resident
from notifier.domain.model import Decision
from notifier.domain.planner import Plan, Planner
from notifier.domain.rulebook import load_rulebook

BOOK = load_rulebook()
TREE = unit_tree()


def decided(event: Envelope, known: Resident | None = None) -> Decision:
    return decide(event, known, BOOK, TREE)


def planned(*events: Envelope) -> Plan:
    """Events decided in order, as one batch, starting from nothing known."""
    planner = Planner(BOOK, TREE, {})
    for event in events:
        planner.take(event)
    return planner.result()


def known_after(*events: Envelope) -> Resident | None:
    planner = Planner(BOOK, TREE, {})
    for event in events:
        planner.take(event)
    return planner.known.get(concerned_resident(events[-1]))


def told(decision: Decision | Plan, rule: str | None = None) -> dict[str, str]:
    """Recipient -> text of the notifications made now (by ``rule``)."""
    return {n.recipient: n.text for n in decision.notifications if rule is None or n.rule == rule}


def pending(plan: Decision | Plan, rule: str) -> list:
    return [t for t in plan.timers if t.rule == rule and t.state == "pending"]
