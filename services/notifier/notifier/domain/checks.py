"""The rules checked against the contract: every fact a text, a recipient, a subject or a
condition names must be one the triggering events carry. Run by the test suite, so a
misspelt field fails a test instead of reading 未知 in a unit's inbox."""

from __future__ import annotations

import string
import typing
from collections.abc import Iterable

from platform_kit.catalogue import EventCatalogue

from notifier.domain.facts import DERIVED_FACTS, PRIVATE_KEYS
from notifier.domain.rulebook import Rulebook, Trigger

ALWAYS = DERIVED_FACTS | {"services_due"}


def unbound_event_types(book: Rulebook, catalogue: EventCatalogue) -> set[str]:
    """Event types the rules name that the contract does not define (yet)."""
    return {t for t in book.event_types if not catalogue.knows(t)}


def problems(book: Rulebook, catalogue: EventCatalogue) -> list[str]:
    found: list[str] = []
    for notice in book.notices:
        found += _missing(notice.name, notice.fields, notice.on, catalogue, extra=_item_fields(notice.for_each, notice.on, catalogue))
    for watch in book.watches:
        opening = [*watch.opened_by, *(watch.closed_by if watch.repeat else [])]
        for step in watch.steps:
            found += _missing(f"{watch.name} step at {step.at}", step.fields, opening, catalogue, extra={"due"})
        subject = {name for _, name, _, _ in string.Formatter().parse(watch.subject) if name}
        found += _missing(f"{watch.name} subject", subject, [*watch.opened_by, *watch.closed_by], catalogue)
    return found


def _item_fields(for_each: str | None, triggers: Iterable[Trigger], catalogue: EventCatalogue) -> set[str]:
    """The fields of the items a ``for_each`` notice walks (a list of models in the payload)."""
    if for_each is None:
        return set()
    fields: set[str] = set()
    for trigger in triggers:
        field = catalogue.model(trigger.event).model_fields.get(for_each) if catalogue.knows(trigger.event) else None
        item = next(iter(typing.get_args(field.annotation)), None) if field else None
        fields |= set(getattr(item, "model_fields", {}))
    return fields


def _missing(
    where: str, names: set[str], triggers: Iterable[Trigger], catalogue: EventCatalogue,
    extra: frozenset[str] | set[str] = frozenset(),
) -> list[str]:
    found = []
    for trigger in triggers:
        if not catalogue.knows(trigger.event):
            continue
        available = ALWAYS | (set(catalogue.model(trigger.event).model_fields) - PRIVATE_KEYS) | set(extra)
        for name in sorted(names | trigger.fields):
            base = name.removesuffix("_name").removesuffix("_label")
            if name not in available and base not in available:
                found.append(f"{where}: {{{name}}} is not a fact of {trigger.event}")
    return found
