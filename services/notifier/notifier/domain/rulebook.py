"""The rules file (``notifier/rules.toml``), read into checked models.

A rule names the event types that trigger it *by name*, so a new event type (the registry's
verification requests, say) is bound by editing the file, not the code. Two kinds of rule:

* a **notice** tells its recipients at once when a triggering event arrives;
* a **watch** opens on an event and waits for a due date: its steps remind before the date
  and escalate after it, unless an event *closes* it (the thing was done) or *cancels* it
  (it became pointless: the person moved away).
"""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass, field
from datetime import time
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from platform_kit.envelope import EVENT_TYPE_PATTERN

Who = Literal[
    "anyone",
    "migrant",
    "woman_of_childbearing_age",
    "married_woman_of_childbearing_age",
    "married_of_childbearing_age",
    "planning_pregnancy",
]
# unit:<fact>      that unit's inbox (a place outside the district: place:<code>)
# town:<fact>      the town or street the unit lies in (the unit itself if it is one)
# supervisor:<fact> the office above the unit: a village's town, a town's district centre
# resident:<fact>  the person's own inbox
# district         the district centre
RECIPIENT = re.compile(r"^(district|(unit|town|supervisor|resident):[a-z_]+)$")
DUE = re.compile(r"^(end_of_quarter|occurred\+(\d+)d|[a-z_]+)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _trigger(value: Any) -> Any:
    return {"event": value} if isinstance(value, str) else value


class Trigger(_Strict):
    """An event type, optionally only when some of its facts have (``when``) or do not have
    (``unless``) the given values."""

    event: str = Field(pattern=EVENT_TYPE_PATTERN)
    when: dict[str, str | list[str]] = Field(default_factory=dict)
    unless: dict[str, str | list[str]] = Field(default_factory=dict)

    def matches(self, event_type: str, facts: dict[str, Any]) -> bool:
        return (
            event_type == self.event
            and all(_holds(facts.get(name), wanted) for name, wanted in self.when.items())
            and not any(_holds(facts.get(name), unwanted) for name, unwanted in self.unless.items())
        )

    @property
    def fields(self) -> set[str]:
        return set(self.when) | set(self.unless)


def _holds(value: Any, wanted: str | list[str]) -> bool:
    return value in wanted if isinstance(wanted, list) else value == wanted


Triggers = list[Annotated[Trigger, BeforeValidator(_trigger)]]


def _template_fields(text: str) -> set[str]:
    fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    for name in fields:
        if not re.fullmatch(r"[a-z_]+", name):
            raise ValueError(f"template field {{{name}}}: only plain names like {{resident_id}} are allowed")
    return fields


class _Message(_Strict):
    to: list[str] = Field(min_length=1)
    text: str = Field(min_length=1)

    @field_validator("to")
    @classmethod
    def _recipients(cls, to: list[str]) -> list[str]:
        for expr in to:
            if not RECIPIENT.match(expr):
                raise ValueError(f"recipient {expr!r}: expected district, unit:<fact>, town:<fact>, "
                                 "supervisor:<fact> or resident:<fact>")
        return to

    @field_validator("text")
    @classmethod
    def _plain_fields(cls, text: str) -> str:
        _template_fields(text)
        return text

    @property
    def fields(self) -> set[str]:
        return _template_fields(self.text) | {expr.split(":", 1)[1] for expr in self.to if ":" in expr}


class Notice(_Message):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    title: str
    on: Triggers = Field(min_length=1)
    who: Who = "anyone"
    for_each: str | None = Field(
        None, pattern=r"^[a-z_]+$",
        description="a list fact (a ranking's rows): one notice per item, the item's fields added to the facts",
    )


class Step(_Message):
    at: Literal["opened"] | int = Field(
        description='"opened": at once; a number: that many days from the due date (negative: before it)'
    )

    @property
    def is_reminder(self) -> bool:
        """A step before the due date: pointless once the date has passed."""
        return isinstance(self.at, int) and self.at < 0


class DueByField(_Strict):
    """Days after the event, looked up by one of its facts (e.g. the urgency of a request)."""

    field: str
    days: dict[str, int]


class Watch(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    title: str
    opened_by: Triggers = Field(min_length=1)
    who: Who = "anyone"
    subject: str = Field(description="what the watch is about, e.g. {resident_id}@{quarter}; closings match on it")
    due: str | DueByField
    repeat: Literal["quarterly"] | None = None
    closed_by: Triggers = Field(default_factory=list)
    cancelled_by: Triggers = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1, alias="step")

    @field_validator("due")
    @classmethod
    def _due(cls, due: str | DueByField) -> str | DueByField:
        if isinstance(due, str) and not DUE.match(due):
            raise ValueError(f"due {due!r}: expected end_of_quarter, occurred+<n>d or the name of a date fact")
        return due

    @field_validator("subject")
    @classmethod
    def _subject(cls, subject: str) -> str:
        if not _template_fields(subject):
            raise ValueError("subject: must name at least one fact, e.g. {resident_id}")
        return subject

    @model_validator(mode="after")
    def _repeat_needs_quarters(self) -> Watch:
        if self.repeat == "quarterly" and (self.due != "end_of_quarter" or "{quarter}" not in self.subject):
            raise ValueError("repeat = quarterly: due must be end_of_quarter and the subject must name {quarter}")
        return self


class ServiceDue(_Strict):
    kind: str
    who: Who
    label: str | None = None


class Calendar(_Strict):
    """When the offices open; the days and the time zone are the district's (platform_kit.calendar)."""

    office_opens: time = time(9, 0)


class Rulebook(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    calendar: Calendar = Field(default_factory=Calendar)
    labels: dict[str, dict[str, str]] = Field(default_factory=dict)
    services_due: list[ServiceDue] = Field(default_factory=list, alias="service_due")
    notices: list[Notice] = Field(default_factory=list, alias="notice")
    watches: list[Watch] = Field(default_factory=list, alias="watch")

    @model_validator(mode="after")
    def _unique_names(self) -> Rulebook:
        names = [rule.name for rule in (*self.notices, *self.watches)]
        if repeated := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"rule names must be unique: {', '.join(repeated)}")
        return self

    @cached_property
    def titles(self) -> dict[str, str]:
        return {rule.name: rule.title for rule in (*self.notices, *self.watches)}

    @cached_property
    def event_types(self) -> frozenset[str]:
        """Every event type some rule reacts to."""
        triggers = [t for n in self.notices for t in n.on]
        triggers += [t for w in self.watches for t in (*w.opened_by, *w.closed_by, *w.cancelled_by)]
        return frozenset(t.event for t in triggers)

    @cached_property
    def _bindings(self) -> dict[str, Bindings]:
        bindings: dict[str, Bindings] = {}

        def bind(kind: str, rule: Notice | Watch, triggers: list[Trigger]) -> None:
            for event_type in dict.fromkeys(t.event for t in triggers):
                mine = [t for t in triggers if t.event == event_type]
                getattr(bindings.setdefault(event_type, Bindings()), kind).append((rule, mine))

        for watch in self.watches:
            bind("cancelling", watch, watch.cancelled_by)
            bind("closing", watch, watch.closed_by)
        for notice in self.notices:
            bind("noticing", notice, notice.on)
        for watch in self.watches:
            bind("opening", watch, watch.opened_by)
        return bindings

    def bindings(self, event_type: str) -> Bindings | None:
        """The rules an event type can trigger, by what it can do to them, in file order."""
        return self._bindings.get(event_type)

    def watch(self, name: str) -> Watch:
        return next(w for w in self.watches if w.name == name)


@dataclass
class Bindings:
    cancelling: list[tuple[Watch, list[Trigger]]] = field(default_factory=list)
    closing: list[tuple[Watch, list[Trigger]]] = field(default_factory=list)
    noticing: list[tuple[Notice, list[Trigger]]] = field(default_factory=list)
    opening: list[tuple[Watch, list[Trigger]]] = field(default_factory=list)


PACKAGED = "rules.toml"


def load_rulebook(path: Path | None = None) -> Rulebook:
    """The rules in ``path``, or the packaged ``notifier/rules.toml``."""
    source = path if path else resources.files("notifier").joinpath(PACKAGED)
    text = source.read_text(encoding="utf-8")
    return Rulebook.model_validate(tomllib.loads(text))
