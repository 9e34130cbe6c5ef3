"""The rules applied: given an event and what was known before it, what to send now, what to
wait for, and what to stop waiting for (``decide``); given a timer whose day has come, what to
send (``fire``). Pure functions: no clock but the one passed in, no I/O."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from platform_kit.calendar import local_date
from platform_kit.envelope import Envelope
from platform_kit.units import UnitTree

from notifier.domain.addressing import recipients, unit_of
from notifier.domain.business_time import (
    chinese_date,
    end_of_quarter,
    passed_at,
    quarter,
    quarter_text,
    step_time,
)
from notifier.domain.facts import Resident, concerned_resident, event_facts, next_resident, on_own_stream
from notifier.domain.model import ROLLOVER, Cancellation, Cause, Closing, Decision, Notification, Timer, derived_id
from notifier.domain.rulebook import DueByField, Rulebook, Trigger, Watch, Who
from notifier.domain.wording import render


def decide(event: Envelope, before: Resident | None, book: Rulebook, tree: UnitTree) -> Decision:
    after = next_resident(event, before)
    decision = Decision(resident=after)
    rules = book.bindings(event.event_type)
    if rules is None:
        return decision
    # What the notifier remembers of the person is read only by events of the person's own
    # stream, which reach it in order. Any other event (a service, from another topic) may
    # arrive before or after her move: it is decided from what it carries itself, so the
    # decision does not depend on the order partitions arrive in (docs/audit.md, section 3).
    after = after if on_own_stream(event) else None
    facts = event_facts(event, after)
    day = local_date(event.occurred_at)
    cause = Cause(event.event_id, event.correlation_id or event.event_id, event.unit_code)
    resident_id = concerned_resident(event)
    if resident_id:
        facts["services_due"] = services_due(after, day, book)

    def matching(triggers: list[Trigger]) -> bool:
        return any(trigger.matches(event.event_type, facts) for trigger in triggers)

    # Stop first, then start: a move cancels the old unit's reminders and opens the new one's.
    for watch, triggers in rules.cancelling:
        if resident_id and matching(triggers):
            decision.cancellations.append(Cancellation(
                watch.name, resident_id, event.event_id, event.occurred_at,
                f"{event.event_type}: no longer pointed at this unit",
            ))
    for watch, triggers in rules.closing:
        if matching(triggers) and (subject := _subject(watch, facts)):
            decision.closings.append(
                Closing(watch.name, subject, event.event_id, event.occurred_at, f"{event.event_type}: done")
            )
    for notice, triggers in rules.noticing:
        if matching(triggers) and _is(after, notice.who, day):
            for index, item in enumerate(_items(notice.for_each, facts)):
                said = facts | item
                text = render(notice.text, said, tree, book.labels)
                for recipient in recipients(notice.to, said, tree):
                    decision.notifications.append(_notification(
                        notice.name, book, "notice", recipient, text, said, cause, tree,
                        event.event_id if notice.for_each is None else (event.event_id, index),
                    ))
    for watch, triggers in rules.opening:
        if matching(triggers) and _is(after, watch.who, day):
            _open(decision, watch, facts, cause, day, event.occurred_at, book, tree)
    return decision


def fire(timer: Timer, resident: Resident | None, now: datetime, book: Rulebook, tree: UnitTree) -> Decision:
    """What a timer whose time has come sends (its state is the caller's to record)."""
    decision = Decision(resident=resident)
    if timer.step == ROLLOVER:
        next_period = local_date(timer.due_at)
        watch = next((w for w in book.watches if w.name == timer.rule), None)
        if watch is not None and resident is not None and _is(resident, watch.who, next_period):
            facts = timer.facts | {"resident_unit": resident.unit_code}
            _open(decision, watch, facts, timer.cause, next_period, timer.due_at, book, tree)
        return decision
    if timer.reminder and now >= timer.due_at:
        return decision  # the due date has passed: a reminder before it is pointless now
    for recipient in timer.recipients:
        decision.notifications.append(
            Notification(
                derived_id("timer", timer.timer_id, recipient), timer.rule, book.titles.get(timer.rule, timer.rule),
                f"{timer.at:+d}d", recipient, timer.text, _unit_code(recipient, timer.facts, timer.cause, tree),
                timer.cause,
            )
        )
    return decision


def _items(for_each: str | None, facts: dict[str, Any]) -> list[dict[str, Any]]:
    """One set of extra facts per notice: none for a plain notice, each item of the list fact."""
    if for_each is None:
        return [{}]
    return [item for item in facts.get(for_each) or [] if isinstance(item, dict)]


def services_due(resident: Resident | None, day: date, book: Rulebook) -> str:
    """The free services now due to this person, as the inflow notice lists them."""
    kinds = book.labels.get("service_kind", {})
    due = [s.label or kinds.get(s.kind, s.kind) for s in book.services_due if _is(resident, s.who, day)]
    return "、".join(due) or "无"


def _is(resident: Resident | None, who: Who, day: date) -> bool:
    if who == "anyone":
        return True
    if resident is None:
        return who == "migrant"
    return resident.is_(who, day)


def _subject(watch: Watch, facts: dict[str, Any]) -> str | None:
    """What the watch is about, or None when the event does not say (e.g. a household service)."""
    try:
        return watch.subject.format_map({k: v for k, v in facts.items() if v not in (None, "")})
    except KeyError:
        return None


def _due(watch: Watch, facts: dict[str, Any], day: date) -> date:
    spec = watch.due
    if isinstance(spec, DueByField):
        value = facts.get(spec.field)
        if str(value) not in spec.days:
            raise ValueError(f"{spec.field}: {value!r} has no deadline in rule {watch.name} "
                             f"(known: {', '.join(spec.days)})")
        return day + timedelta(days=spec.days[str(value)])
    if spec == "end_of_quarter":
        return end_of_quarter(day)
    if spec.startswith("occurred+"):
        return day + timedelta(days=int(spec.removeprefix("occurred+").removesuffix("d")))
    value = facts.get(spec)
    if not value:
        raise ValueError(f"{spec}: rule {watch.name} needs this date and the event does not carry it")
    return date.fromisoformat(str(value))


def _open(
    decision: Decision, watch: Watch, facts: dict[str, Any], cause: Cause, day: date, opened_at: datetime,
    book: Rulebook, tree: UnitTree,
) -> None:
    facts = facts | {"quarter": quarter(day), "quarter_text": quarter_text(day)}
    subject = _subject(watch, facts)
    if subject is None:
        return
    due = _due(watch, facts, day)
    facts["due"] = chinese_date(due)
    opens = book.calendar.office_opens
    due_at = passed_at(due)
    resident_id = concerned_resident_id(facts)
    for index, step in enumerate(watch.steps):
        text = render(step.text, facts, tree, book.labels)
        to = recipients(step.to, facts, tree)
        if step.at == "opened":
            decision.notifications += [
                _notification(watch.name, book, "opened", r, text, facts, cause, tree, subject) for r in to
            ]
        elif to:
            decision.timers.append(
                Timer(
                    derived_id("timer", watch.name, subject, index, cause.event_id), watch.name, subject, index,
                    step.at,
                    step_time(due, step.at, opens), due_at, step.is_reminder, tuple(to), text, resident_id, cause,
                    opened_at, _kept(facts),
                )
            )
    if watch.repeat:
        decision.timers.append(
            Timer(
                derived_id("timer", watch.name, subject, ROLLOVER, cause.event_id), watch.name, subject, ROLLOVER, 1,
                due_at, due_at, False, (), "", resident_id, cause, opened_at, _kept(facts),
            )
        )


KEPT_FACTS = ("resident_id", "resident_unit", "event_unit", "event_id", "occurred_date")


def _kept(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts a timer keeps: enough to name its unit and open a repeat's next period."""
    return {k: facts[k] for k in KEPT_FACTS if facts.get(k) is not None}


def concerned_resident_id(facts: dict[str, Any]) -> uuid.UUID | None:
    value = facts.get("resident_id")
    return uuid.UUID(str(value)) if value else None


def _unit_code(recipient: str, facts: dict[str, Any], cause: Cause, tree: UnitTree) -> str:
    """The unit a notification belongs to: its recipient unit, else the person's, else the cause's."""
    unit = unit_of(recipient)
    if unit:
        return unit
    lives = facts.get("resident_unit")
    return lives if lives in tree else cause.unit_code


def _notification(
    rule: str, book: Rulebook, step: str, recipient: str, text: str, facts: dict[str, Any], cause: Cause,
    tree: UnitTree, discriminator: object,
) -> Notification:
    return Notification(
        derived_id(rule, step, cause.event_id, discriminator, recipient), rule, book.titles[rule], step, recipient,
        text, _unit_code(recipient, facts, cause, tree), cause,
    )
