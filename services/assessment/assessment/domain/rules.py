"""The indicator rules, each defined once: who is counted (denominator rules) and who of
them counts as served (numerator rules). ``indicators.toml`` names them; some take an
argument after a colon (``received:pregnancy_check``).

Every rule looks only at what occurred before the window's end, so a fact can change a
period's figures only if it occurred before that period ended: the incremental view relies
on it, and each rule's test says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from bisect import bisect_left
from datetime import date, datetime
from functools import lru_cache, partial
from typing import get_args

from assessment.domain.facts import REGISTERED, RETURNED, SERVICE, SURVEY, Fact
from assessment.domain.people import Answer, Received, Standing, Timeline, day_before, standing
from assessment.domain.periods import TICK, Period, Window
from platform_kit.calendar import age_on
from platform_kit.contract.services_log import ServiceKind, SurveyRecorded

Outcome = tuple[bool, tuple[uuid.UUID, ...]]  # counted?, and the events that say so
Rule = Callable[[Timeline, Standing, Window], Outcome]
NO: Outcome = (False, ())

SERVICE_KINDS = frozenset(get_args(ServiceKind))
SURVEY_KINDS = frozenset(get_args(SurveyRecorded.model_fields["survey_kind"].annotation))
# Every rule that reads services or survey answers looks only inside the window, so a fact
# of these kinds can change only the windows it occurred in; any other fact (a move, a
# marriage, a plan) can change every window that ends after it occurred.
WINDOW_BOUND_KINDS = frozenset({SERVICE, SURVEY})
# The free family-planning technical services (计划生育技术服务: "二是落实计划生育技术服务均等化，
# 实现流动人口避孕药具免费发放全覆盖，流动人口在流入地获得的免费服务率逐年提高"). Publicity (宣传教育),
# education, certificates, rewards and the six ones are other items of the document's list.
TECHNICAL_SERVICES = frozenset({
    "free_contraceptives", "pregnancy_check", "pre_pregnancy_consultation", "pre_pregnancy_health_check",
    "follow_up_visit", "health_check_up",
})
CHILDBEARING_AGE = range(15, 50)  # 15-49 full years
COMPULSORY_SCHOOL_AGE = range(6, 15)  # 6-14 full years: nine years of compulsory education
# The school-entry cut-off (MM-DD): the age a child has reached by this day is their age for the
# school year that starts the day after. The document gives no date; 31 August (the school year
# starts on 1 September) is the local setting, named in indicators.toml.
SCHOOL_ENTRY_CUTOFF = "08-31"


def _is_service_kind(arg: str) -> bool:
    """one of the service kinds (or nothing: any technical service)"""
    return arg in SERVICE_KINDS


def _is_cutoff(arg: str) -> bool:
    """a day of the year as MM-DD"""
    try:
        month, day = (int(x) for x in arg.split("-"))
        date(2001, month, day)  # not a leap year: 29 February is no cut-off every year
    except ValueError:
        return False
    return len(arg) == 5


# Every rule counts only the population asked about (migrants unless the question says
# registered): ``coverage.counted_in`` checks it once, before any rule runs.


def _migrants(_: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    return (True, st.basis)


def _married_of_childbearing_age(_: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    if st.is_married and st.age in CHILDBEARING_AGE:
        return (True, st.basis + (st.status.event_id,))
    return NO


def _couple_counts_elsewhere(line: Timeline, st: Standing, w: Window) -> bool:
    """With a spouse named on the marriage who is counted too (lives in the district in the
    window, married, 15-49, the same population), the couple counts once: under the woman (or,
    for two of a sex, the smaller id). True when that is the spouse, not this person."""
    named = line.spouse_before(st.reference)
    if named is None:
        return False
    spouse_line = line.spouse_lines.get(named[0])
    other = standing(spouse_line, w) if spouse_line is not None else None
    if other is None or other.profile is None or st.profile is None or other.profile.population != st.profile.population:
        return False
    if not (other.is_married and other.age in CHILDBEARING_AGE):
        return False
    mine = (st.profile.sex != "female", str(line.person))
    theirs = (other.profile.sex != "female", str(named[0]))
    return theirs < mine


def _couples_of_childbearing_age(arg: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    """Married people 15-49, a couple whose marriage named the spouse counting once."""
    counted, because = _married_of_childbearing_age(arg, line, st, w)
    if not counted or _couple_counts_elsewhere(line, st, w):
        return NO
    named = line.spouse_before(st.reference)
    return (True, because + ((named[1],) if named else ()))


def _spouses_received(kind: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    """Either spouse received it within the window: a couple supplied once is covered."""
    named = line.spouse_before(st.reference)
    spouse_line = line.spouse_lines.get(named[0]) if named else None
    found = _in_window(line.services, w, kind) + (_in_window(spouse_line.services, w, kind) if spouse_line else ())
    return (bool(found), found)


def _married_women_of_childbearing_age(arg: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    if st.profile is not None and st.profile.sex == "female":
        return _married_of_childbearing_age(arg, line, st, w)
    return NO


def _couples_planning_pregnancy(_: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    if st.is_married and st.plan is not None:
        return (True, st.basis + (st.status.event_id, st.plan.event_id))
    return NO


@lru_cache(maxsize=16)
def _month_day(cutoff: str) -> tuple[int, int]:
    # Read once per cut-off, not once per child and period.
    month, day = (int(x) for x in cutoff.split("-"))
    return month, day


def school_entry_age(birth_date: date, on: date, cutoff: str = SCHOOL_ENTRY_CUTOFF) -> int:
    """The child's age for school entry on ``on``: full years reached by the cut-off day
    (MM-DD) that opened the school year ``on`` falls in. With the 31 August cut-off a child
    who turns 6 on or after 1 September is not of school age until the next school year."""
    month, day = _month_day(cutoff)
    year = on.year if (on.month, on.day) > (month, day) else on.year - 1
    return age_on(birth_date, date(year, month, day))


def _children_of_compulsory_school_age(cutoff: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    if st.profile is None:
        return NO
    age = school_entry_age(st.profile.birth_date, day_before(st.reference), cutoff or SCHOOL_ENTRY_CUTOFF)
    return (True, st.basis) if age in COMPULSORY_SCHOOL_AGE else NO


def _last_answer(line: Timeline, w: Window, kind: str) -> Answer | None:
    """The last answer of ``kind`` given in the window (read from the end: it is the one that counts)."""
    start, end = w.start, w.end
    for a in reversed(line.answers):
        if a.kind == kind and start <= a.at < end:
            return a
    return None


def _surveyed(kind: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    answer = _last_answer(line, w, kind)
    return (True, st.basis + (answer.event_id,)) if answer is not None else NO


def _in_window(services: list[Received], w: Window, kind: str | None = None) -> tuple[uuid.UUID, ...]:
    # Asked for every person, indicator and period: no generator, the window's bounds read once.
    if not services:
        return ()
    start, end = w.start, w.end
    return tuple([s.event_id for s in services if (kind is None or s.kind == kind) and start <= s.at < end])


def _received(kind: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    found = _in_window(line.services, w, kind)
    return (bool(found), found)


def _received_where_they_live(kind: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    """Without an argument: any free *technical* service (a leaflet is not one); with one, that
    service. Either way from the unit they lived in then, or its town's or the district's station."""
    wanted = {kind} if kind else TECHNICAL_SERVICES
    start, end = w.start, w.end
    found = tuple([s.event_id for s in line.services if s.kind in wanted and s.where_they_live and start <= s.at < end])
    return (bool(found), found)


def _couple_received_where_they_live(kind: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    partner = st.plan.partner if st.plan else None
    services = [*line.services, *line.partner_services.get(partner, [])]
    start, end = w.start, w.end
    found = tuple([s.event_id for s in services if s.kind == kind and s.where_they_live and start <= s.at < end])
    return (bool(found), found)


def _owed_technical_services(_: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    """Who is owed the free family-planning technical services: people of childbearing age
    (15-49, women and men) and young children (under 6, served with their mother)."""
    if st.age in CHILDBEARING_AGE or (st.age is not None and st.age < 6):
        return (True, st.basis)
    return NO


def _couple_received(kind: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    partner = st.plan.partner if st.plan else None
    found = _in_window(line.services, w, kind) + _in_window(line.partner_services.get(partner, []), w, kind)
    return (bool(found), found)


def _aware(kind: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    answer = _last_answer(line, w, kind)
    return (True, (answer.event_id,)) if answer is not None and answer.aware else NO


def _enrolled(_: str, line: Timeline, st: Standing, w: Window) -> Outcome:
    found = tuple(event_id for at, event_id in line.enrolments if at < st.reference)
    return (bool(found), found)


# name -> (rule, the values its argument may take; None: it takes no argument)
DENOMINATORS: dict[str, tuple[Callable[..., Outcome], frozenset[str] | Callable[[str], bool] | None]] = {
    "migrants": (_migrants, None),
    "married_of_childbearing_age": (_married_of_childbearing_age, None),
    "married_women_of_childbearing_age": (_married_women_of_childbearing_age, None),
    "couples_of_childbearing_age": (_couples_of_childbearing_age, None),
    "couples_planning_pregnancy": (_couples_planning_pregnancy, None),
    "children_of_compulsory_school_age": (_children_of_compulsory_school_age, _is_cutoff),
    "owed_technical_services": (_owed_technical_services, None),
    "surveyed": (_surveyed, SURVEY_KINDS),
}
NUMERATORS: dict[str, tuple[Callable[..., Outcome], frozenset[str] | None]] = {
    "received": (_received, SERVICE_KINDS),
    "received_where_they_live": (_received_where_they_live, _is_service_kind),
    "couple_received_where_they_live": (_couple_received_where_they_live, SERVICE_KINDS),
    "couple_received": (_couple_received, SERVICE_KINDS),
    "spouses_received": (_spouses_received, SERVICE_KINDS),
    "aware": (_aware, SURVEY_KINDS),
    "enrolled": (_enrolled, None),
}
_TABLES = {"denominator": DENOMINATORS, "numerator": NUMERATORS}


Span = tuple[datetime, datetime]  # the earliest start and the latest end of the windows asked about


def _ages(line: Timeline, span: Span, age: Callable[[date, date], int] = age_on) -> list[tuple[int, int]]:
    """For each profile the person may have in a window of ``span``, the least and the most
    ``age`` it gives at a reference moment in it (an age only grows with the date)."""
    first, last = day_before(span[0] + TICK), day_before(span[1])
    return [(age(p.birth_date, first), age(p.birth_date, last)) for p in line.profiles]


def _may_be(ages: list[tuple[int, int]], wanted: range) -> bool:
    return any(low < wanted.stop and high >= wanted.start for low, high in ages)


def _answered(kind: str, line: Timeline, span: Span) -> bool:
    return any(a.kind == kind for a in line.answers)


def _ever_married(line: Timeline) -> bool:
    return any(s.marital_status == "married" for s in line.statuses)


def _may_be_married_of_childbearing_age(_: str, line: Timeline, span: Span) -> bool:
    return _ever_married(line) and _may_be(_ages(line, span), CHILDBEARING_AGE)


def _may_be_a_married_woman(_: str, line: Timeline, span: Span) -> bool:
    return any(p.sex == "female" for p in line.profiles) and _may_be_married_of_childbearing_age(_, line, span)


def _ever_planned_married(_: str, line: Timeline, span: Span) -> bool:
    return bool(line.plans) and _ever_married(line)


def _may_be_of_school_age(cutoff: str, line: Timeline, span: Span) -> bool:
    return _may_be(_ages(line, span, partial(school_entry_age, cutoff=cutoff or SCHOOL_ENTRY_CUTOFF)), COMPULSORY_SCHOOL_AGE)


def _any_service(wanted: frozenset[str], services: list[Received], where: bool = False) -> bool:
    return any(s.kind in wanted and (s.where_they_live or not where) for s in services)


def _may_have_received(kind: str, line: Timeline, span: Span) -> bool:
    return _any_service(frozenset({kind}), line.services)


def _may_have_received_where_they_live(kind: str, line: Timeline, span: Span) -> bool:
    return _any_service(frozenset({kind}) if kind else TECHNICAL_SERVICES, line.services, True)


def _couple_may_have_received(kind: str, line: Timeline, span: Span, where: bool = False) -> bool:
    wanted = frozenset({kind})
    return _any_service(wanted, line.services, where) or any(_any_service(wanted, s, where) for s in line.partner_services.values())


def _spouses_may_have_received(kind: str, line: Timeline, span: Span) -> bool:
    wanted = frozenset({kind})
    return _any_service(wanted, line.services) or any(_any_service(wanted, s.services) for s in line.spouse_lines.values())


def _ever_aware(kind: str, line: Timeline, span: Span) -> bool:
    return any(a.kind == kind and a.aware for a in line.answers)


def _ever_enrolled(_: str, line: Timeline, span: Span) -> bool:
    return bool(line.enrolments)


# Rule -> a test of the whole timeline that is False only when the rule says no for the person
# in every window within ``span`` (what the rule requires of the standing or the window, the
# timeline never has): asked once a person, it spares the rule's call in each of their periods.
# A rule without one is asked every time. Held to its rule by test_rules_a_timeline_cannot_meet.
POSSIBLE: dict[str, Callable[[str, Timeline, Span], bool]] = {
    "surveyed": _answered,  # an answer of that kind in the window
    "married_of_childbearing_age": _may_be_married_of_childbearing_age,  # married, 15-49 at the reference
    "couples_of_childbearing_age": _may_be_married_of_childbearing_age,
    "married_women_of_childbearing_age": _may_be_a_married_woman,
    "couples_planning_pregnancy": _ever_planned_married,  # married, and a plan in force in the window
    "children_of_compulsory_school_age": _may_be_of_school_age,
    "received": _may_have_received,  # a service of that kind in the window
    "received_where_they_live": _may_have_received_where_they_live,
    "couple_received": _couple_may_have_received,
    "couple_received_where_they_live": partial(_couple_may_have_received, where=True),
    "spouses_received": _spouses_may_have_received,
    "aware": _ever_aware,  # the last answer of that kind in the window says aware
    "enrolled": _ever_enrolled,
}


def possible(kind: str, rule: str) -> Callable[[Timeline, Span], bool] | None:
    """The test of a whole timeline of ``kind``'s ``rule`` (see ``POSSIBLE``); None: always possible."""
    name, _, arg = check_rule(kind, rule).partition(":")
    return partial(POSSIBLE[name], arg) if name in POSSIBLE else None


def joins_identities(fact: Fact) -> bool:
    """A returner's registration (and its fact on the first identity): it makes two resident
    ids one timeline, so every fact either id already had, whenever it occurred, moves to the
    person's timeline, and an id counted on its own before stops counting anywhere."""
    return fact.kind == RETURNED or (fact.kind == REGISTERED and bool(fact.data.get("person")))


def can_change(fact: Fact, start: object, end: object) -> bool:
    """Whether ``fact`` can change a figure of the window ``[start, end)``."""
    if joins_identities(fact):
        return True
    if fact.kind in WINDOW_BOUND_KINDS:
        return start <= fact.occurred_at < end
    return fact.occurred_at < end


def reached(facts: Sequence[Fact], periods: Sequence[Period]) -> list[Period]:
    """The periods of which ``facts`` can change a figure: those ``can_change`` says yes to for
    one of them, found without asking it for every fact and period (the projection asks for
    every person a batch affects)."""
    if any(joins_identities(f) for f in facts):
        return list(periods)
    inside = sorted({f.occurred_at for f in facts if f.kind in WINDOW_BOUND_KINDS})
    earliest = min((f.occurred_at for f in facts if f.kind not in WINDOW_BOUND_KINDS), default=None)
    found = []
    for p in periods:
        if earliest is not None and earliest < p.end:
            found.append(p)
            continue
        i = bisect_left(inside, p.start)  # the first one at or after the start: inside if before the end
        if i < len(inside) and inside[i] < p.end:
            found.append(p)
    return found


def kinds_read(rule: str) -> tuple[frozenset[str], frozenset[str]]:
    """The service kinds and the survey kinds ``rule`` reads (a rule that takes one as its
    argument reads that one; ``received_where_they_live`` without one reads the technical
    services). Told from the rule tables' argument checks, so a rule added there is known here;
    a fact of a kind no rule reads changes no figure, and the projection passes it by."""
    name, _, arg = rule.partition(":")
    allowed = (NUMERATORS.get(name) or DENOMINATORS.get(name) or (None, None))[1]
    if allowed is SERVICE_KINDS or allowed is _is_service_kind:
        return (frozenset({arg}) if arg else TECHNICAL_SERVICES), frozenset()
    if allowed is SURVEY_KINDS:
        return frozenset(), frozenset({arg})
    return frozenset(), frozenset()


def check_rule(kind: str, rule: str) -> str:
    """The rule, if ``kind``'s table knows it and its argument is allowed; else ValueError."""
    name, _, arg = rule.partition(":")
    table = _TABLES[kind]
    if name not in table:
        raise ValueError(f"{kind}: unknown rule {name!r}; known: {', '.join(sorted(table))}")
    allowed = table[name][1]
    if allowed is None and arg:
        raise ValueError(f"{kind}: rule {name!r} takes no argument")
    if callable(allowed):
        if arg and not allowed(arg):
            raise ValueError(f"{kind}: rule {name!r} takes {allowed.__doc__} after the colon (got {arg!r})")
        return rule
    if allowed is not None and arg not in allowed:
        raise ValueError(f"{kind}: rule {name!r} needs one of {', '.join(sorted(allowed))} after the colon")
    return rule


def compiled(kind: str, rule: str) -> Rule:
    name, _, arg = check_rule(kind, rule).partition(":")
    # A partial, not a lambda: one Python call less per rule, person and period.
    return partial(_TABLES[kind][name][0], arg)
