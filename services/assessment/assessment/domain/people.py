"""A person's timeline, read from their facts: where they lived and when, who they were
(sex, birth date, migrant or not, marital status), their pregnancy plans, and what they
received. And their *standing* in a window: the unit responsible for them and their state
at the reference moment.

The reference moment of a window is the last instant in it that the person lived in the
district (the window's end, or their departure). The unit they lived in then is the one
responsible for them in that window, so each person counts once per indicator and period
and towns add up from their villages without counting anyone twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from operator import attrgetter

from assessment.domain.facts import (
    BIRTH, CORRECTED, DEPARTED, ENROLLED, MARITAL, MOVED, PLANNED, REGISTERED, RETURNED, SERVICE, SPOUSE, SURVEY, Fact,
    corrected,
)
from assessment.domain.periods import TICK, Window
from platform_kit.calendar import age_on, local_date
from platform_kit.units import unit_tree

Facts = Mapping[uuid.UUID, Sequence[Fact]]


@dataclass(frozen=True, slots=True)
class Stay:
    unit: str
    start: datetime
    end: datetime | None  # exclusive; None while they still live there
    event_ids: tuple[uuid.UUID, ...]  # the events that put them there

    def holds(self, instant: datetime) -> bool:
        return self.start <= instant and (self.end is None or instant < self.end)


@dataclass(frozen=True, slots=True)
class Profile:
    at: datetime
    sex: str
    birth_date: date
    population: str
    event_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Status:
    at: datetime
    marital_status: str
    event_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Plan:
    start: datetime
    partner: uuid.UUID | None
    event_id: uuid.UUID
    end: datetime | None  # the birth that fulfilled it


@dataclass(frozen=True, slots=True)
class Received:
    at: datetime
    kind: str
    unit: str
    event_id: uuid.UUID
    where_they_live: bool = False  # from the unit they lived in then, or its town's or the district's station


def serves_where_they_live(home: str | None, by: str) -> bool:
    """A service "where they live" (在现居住地, 在流入地): from the village they live in, or
    from its town's or the district's station (which serve every village under them)."""
    if home is None:
        return False
    if by == home:
        return True
    return by in _served_from(home)


@lru_cache(maxsize=4096)
def _served_from(home: str) -> frozenset[str]:
    # The unit tree is read once per process: its ancestors walk was asked once per service.
    tree = unit_tree()
    return frozenset(unit.code for unit in tree.ancestors(home)) if home in tree else frozenset()


@lru_cache(maxsize=4096)
def day_before(reference: datetime) -> date:
    """The district's date of the last instant before ``reference`` (the day a state is read
    on). References are mostly the periods' ends, a few dozen instants: converted once each."""
    return local_date(reference - TICK)


@dataclass(frozen=True, slots=True)
class Answer:
    at: datetime
    kind: str
    aware: bool
    event_id: uuid.UUID


@dataclass
class Timeline:
    person: uuid.UUID
    stays: list[Stay] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    services: list[Received] = field(default_factory=list)
    partner_services: dict[uuid.UUID, list[Received]] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    enrolments: list[tuple[datetime, uuid.UUID]] = field(default_factory=list)
    spouses: list[tuple[datetime, uuid.UUID, uuid.UUID]] = field(default_factory=list)  # (named at, spouse, event)
    spouse_lines: dict[uuid.UUID, Timeline] = field(default_factory=dict)  # their own stays, profile, status, services

    def spouse_before(self, instant: datetime) -> tuple[uuid.UUID, uuid.UUID] | None:
        """The spouse last named before ``instant`` (and the event naming them)."""
        for at, spouse, event_id in reversed(self.spouses):  # in the order named: the last before it is the one
            if at < instant:
                return (spouse, event_id)
        return None

    def unit_at(self, instant: datetime) -> str | None:
        for stay in self.stays:
            if stay.holds(instant):
                return stay.unit
        return None


@dataclass(frozen=True, slots=True)
class Standing:
    """Who the person is in a window: their responsible unit and their state at the reference moment."""

    stay: Stay
    reference: datetime  # exclusive: the state is the one just before it
    profile: Profile | None
    status: Status | None
    plan: Plan | None  # a pregnancy plan in force at some time in the window
    age: int | None
    basis: tuple[uuid.UUID, ...]  # the events that make them someone living in the unit

    @property
    def unit(self) -> str:
        return self.stay.unit

    @property
    def is_migrant(self) -> bool:
        return self.profile is not None and self.profile.population == "migrant"

    @property
    def is_married(self) -> bool:
        return self.status is not None and self.status.marital_status == "married"


def _sorted(facts: Sequence[Fact]) -> list[Fact]:
    """In business order, as corrected (a registry correction replaces what it corrects)."""
    return sorted(corrected(facts), key=_ORDER)


_ORDER = attrgetter("occurred_at", "recorded_at", "event_id")  # ``Fact.order``, without a Python call per fact


def own_stays(facts: Sequence[Fact]) -> list[Stay]:
    """Registered in a unit, moved between units, departed, perhaps registered again."""
    stays: list[Stay] = []
    current: tuple[str, datetime, uuid.UUID] | None = None

    def close(at: datetime) -> None:
        if current is not None and at > current[1]:
            stays.append(Stay(current[0], current[1], at, (current[2],)))

    for f in facts:
        if f.kind == REGISTERED:
            close(f.occurred_at)
            current = (f.data["unit"], f.occurred_at, f.event_id)
        elif f.kind == MOVED:
            close(f.occurred_at)
            current = (f.data["to_unit"], f.occurred_at, f.event_id)
        elif f.kind == DEPARTED:
            close(f.occurred_at)
            current = None
    if current is not None:
        stays.append(Stay(current[0], current[1], None, (current[2],)))
    return stays


def _profiles(facts: Sequence[Fact]) -> list[Profile]:
    return [
        Profile(f.occurred_at, f.data["sex"], date.fromisoformat(f.data["birth_date"]), f.data["population"], f.event_id)
        for f in facts
        if f.kind == REGISTERED
    ]


def _latest(items: Sequence, before: datetime):  # items sorted by .at
    found = None
    for item in items:
        if item.at >= before:
            break
        found = item
    return found


def _with_mother(birth: Fact, stays: list[Stay], facts: Facts) -> list[Stay]:
    """A newborn known from a birth report lives with the mother until registered in their own right."""
    mother = uuid.UUID(birth.data["mother"])
    until = stays[0].start if stays else None
    born = birth.occurred_at
    if until is not None and until <= born:
        return stays
    mothers = own_stays(_sorted(facts.get(mother, ())))
    if any(stay.holds(born) for stay in mothers):
        followed = []
        for stay in mothers:
            start = max(stay.start, born)
            end = stay.end if until is None else (until if stay.end is None else min(stay.end, until))
            if end is None or end > start:
                followed.append(Stay(stay.unit, start, end, (birth.event_id, *stay.event_ids)))
    else:
        followed = [Stay(birth.data["unit"], born, until, (birth.event_id,))]
    return followed + stays


def _newborn_profile(birth: Fact, facts: Facts) -> Profile:
    mother = uuid.UUID(birth.data["mother"])
    mothers = _profiles(_sorted(facts.get(mother, ())))
    known = [p for p in mothers if p.at <= birth.occurred_at]
    population = known[-1].population if known else "migrant"
    return Profile(birth.occurred_at, birth.data["sex"], date.fromisoformat(birth.data["birth_date"]), population, birth.event_id)


def _received(facts: Sequence[Fact], stays: Sequence[Stay]) -> list[Received]:
    """The free services received, as corrected by the corrections the clocks let through (the
    facts given are the visible ones): a withdrawn service is gone, a corrected kind replaces
    the recorded one; the latest-recorded correction of a service wins."""
    def home(at: datetime) -> str | None:
        for stay in stays:
            if stay.start <= at and (stay.end is None or at < stay.end):  # ``Stay.holds``
                return stay.unit
        return None

    corrections = {
        f.data["corrects"]: f.data for f in sorted((f for f in facts if f.kind == CORRECTED), key=lambda f: f.recorded_at)
    }
    received = []
    for f in facts:
        if f.kind != SERVICE or not f.data.get("free", True):
            continue
        correction = corrections.get(str(f.event_id), {})
        if correction.get("withdrawn"):
            continue
        kind = correction.get("service_kind") or f.data["service_kind"]
        received.append(Received(f.occurred_at, kind, f.data["unit"], f.event_id, serves_where_they_live(home(f.occurred_at), f.data["unit"])))
    return received


def _births_to(mother_facts: Sequence[Fact]) -> list[datetime]:
    return [f.occurred_at for f in mother_facts if f.kind == BIRTH and f.data.get("role") == "mother"]


def _identities(person: uuid.UUID, facts: Facts) -> list[Fact] | None:
    """The person's facts under every resident id they were registered with (a returner gets
    a new id; the first one is the person). None for a later identity: it is read as part of
    the first one's timeline, so a person who left and came back counts once."""
    own = list(facts.get(person, ()))
    if any(f.kind == REGISTERED and f.data.get("person") for f in own):
        return None
    later = [uuid.UUID(f.data["returned_as"]) for f in own if f.kind == RETURNED]
    for other in later:
        own.extend(f for f in facts.get(other, ()) if f.kind != REGISTERED or f.data.get("person") == str(person))
    return own


def _own_line(person: uuid.UUID, facts: Facts) -> Timeline:
    """A spouse's timeline from their own facts only: where they lived, who they were, what
    they received (enough to know whether they count too, and whether they were supplied)."""
    own = _sorted(facts.get(person, ()))
    line = Timeline(person)
    line.stays = own_stays(own)
    line.profiles = _profiles(own)
    line.statuses = [Status(f.occurred_at, f.data["marital_status"], f.event_id) for f in own if f.kind in (REGISTERED, MARITAL)]
    line.services = _received(own, line.stays)
    return line


def timeline(person: uuid.UUID, facts: Facts) -> Timeline:
    """The person's history from their own facts and, where it depends on them, their
    partner's (births, services) and, for a newborn, their mother's (where she lives)."""
    line = Timeline(person)
    own = _identities(person, facts)
    if own is None:
        return line
    own = _sorted(own)
    line.stays = own_stays(own)
    line.profiles = _profiles(own)
    birth = next((f for f in own if f.kind == BIRTH and f.data.get("role") == "child"), None)
    if birth is not None:
        line.stays = _with_mother(birth, line.stays, facts)
        line.profiles = sorted([_newborn_profile(birth, facts), *line.profiles], key=lambda p: p.at)
        line.statuses.append(Status(birth.occurred_at, "unmarried", birth.event_id))
    for f in own:
        if f.kind == REGISTERED or f.kind == MARITAL:
            line.statuses.append(Status(f.occurred_at, f.data["marital_status"], f.event_id))
        elif f.kind == SURVEY:
            line.answers.append(Answer(f.occurred_at, f.data["survey_kind"], f.data["aware"], f.event_id))
        elif f.kind == ENROLLED:
            line.enrolments.append((f.occurred_at, f.event_id))
    line.statuses.sort(key=lambda s: s.at)
    line.services = _received(own, line.stays)
    for f in own:
        if (f.kind == MARITAL or f.kind == SPOUSE) and f.data.get("spouse"):
            spouse = uuid.UUID(f.data["spouse"])
            line.spouses.append((f.occurred_at, spouse, f.event_id))
            if spouse not in line.spouse_lines:
                line.spouse_lines[spouse] = _own_line(spouse, facts)
    own_births = _births_to(own)
    for f in own:
        if f.kind == PLANNED and f.data.get("role") == "planner":
            partner = uuid.UUID(f.data["partner"]) if f.data.get("partner") else None
            partner_facts = _sorted(facts.get(partner, ())) if partner else []
            births = sorted(b for b in own_births + _births_to(partner_facts) if b >= f.occurred_at)
            line.plans.append(Plan(f.occurred_at, partner, f.event_id, births[0] if births else None))
            if partner is not None:
                line.partner_services[partner] = _received(partner_facts, own_stays(partner_facts))
    return line


def standing(line: Timeline, window: Window, memo: dict | None = None) -> Standing | None:
    """None when the person did not live in the district at any time in the window. ``memo``
    (one dict per timeline) keeps the standings made: windows ending together (a year, its
    last quarter and December) mostly share one, made once."""
    last = None
    start, end = window.start, window.end
    for stay in line.stays:
        if stay.start < end and (stay.end is None or stay.end > start):
            if last is None or stay.start >= last.start:
                last = stay
    if last is None:
        return None
    reference = end if last.end is None else min(last.end, end)
    # A plan is a stretch of time, not a state at one moment: it counts if it was in force at
    # some time in the window (a couple whose baby came in December still planned in that year).
    plan = None
    for p in line.plans:
        if p.start < end and (p.end is None or p.end > start):
            plan = p
            break
    if memo is None:
        return _standing(line, last, reference, plan)
    key = (id(last), reference, id(plan))  # the memo lives no longer than the line's stays and plans
    found = memo.get(key)
    if found is None:
        found = memo[key] = _standing(line, last, reference, plan)
    return found


def _standing(line: Timeline, last: Stay, reference: datetime, plan: Plan | None) -> Standing:
    profile = _latest(line.profiles, reference)
    age = None if profile is None else age_on(profile.birth_date, day_before(reference))
    ids = last.event_ids
    if len(ids) == 1:  # most stays: the basis without building a dict (the same ids, the same order)
        basis = ids if profile is None or profile.event_id == ids[0] else (profile.event_id, ids[0])
    else:
        basis = tuple(dict.fromkeys(((profile.event_id,) if profile else ()) + ids))
    return Standing(last, reference, profile, _latest(line.statuses, reference), plan, age, basis)
