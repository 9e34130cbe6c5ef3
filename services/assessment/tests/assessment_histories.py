"""Random histories of a few migrants in three villages, for the property tests (pure and
against the real broker and database), and the projection's algorithm run in memory."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

from assessment.domain.coverage import add, changes, compile_indicators, still_needed, that_can_move
from assessment.domain.facts import Fact, facts_of
from assessment.domain.periods import periods_of_year
from assessment.settings import DEFAULT_RULES, load_rules
from assessment_examples import CHANGAN, JIANSHE, XINHUA
from assessment_testing import History, instant
from platform_kit.contract import catalogue

RULES = load_rules(DEFAULT_RULES)
INDICATORS = compile_indicators(RULES.indicators)
PERIODS = periods_of_year(2013)
UNITS = [JIANSHE, XINHUA, CHANGAN]
PEOPLE = ["a", "b", "c", "d", "e"]
# policy_publicity: a kind no indicator reads (the projection passes it by)
SERVICES = ["pregnancy_check", "free_contraceptives", "pre_pregnancy_consultation", "pre_pregnancy_health_check", "follow_up_visit", "policy_publicity"]

day = st.integers(min_value=-20, max_value=380)  # a little before and after the year, too
lag = st.sampled_from([0, 0, 0, 1, 30, 95])  # days between occurring and being recorded
CHILDREN = ["child1", "child2"]
# Ages in 2013 on both sides of each boundary: 15-49 (childbearing), 6-14 (compulsory school).
BIRTH_YEARS = [1963, 1964, 1985, 1998, 1999, 2005, 2007, 2012]
EVERYONE = [*PEOPLE, *CHILDREN]
registration = st.tuples(
    st.sampled_from(UNITS), st.sampled_from(["female", "male"]), st.sampled_from(BIRTH_YEARS),
    st.sampled_from(["married", "married", "unmarried"]), st.sampled_from(["migrant", "migrant", "migrant", "registered"]),
)
step = st.one_of(
    st.tuples(st.just("register"), st.sampled_from(EVERYONE), registration),
    st.tuples(st.just("move"), st.sampled_from(EVERYONE), st.sampled_from(UNITS)),
    st.tuples(st.just("depart"), st.sampled_from(EVERYONE)),
    # A person who left is registered again: a new resident id, the same person key.
    st.tuples(st.just("return"), st.sampled_from(PEOPLE), registration),
    st.tuples(st.just("marry"), st.sampled_from(PEOPLE), st.sampled_from(["married", "divorced"])),
    # A marriage naming the spouse: the couple counts once for contraceptives.
    st.tuples(st.just("wed"), st.sampled_from(PEOPLE), st.sampled_from(PEOPLE)),
    st.tuples(st.just("plan"), st.sampled_from(PEOPLE), st.sampled_from([*PEOPLE, None])),
    st.tuples(st.just("birth"), st.sampled_from(PEOPLE), st.sampled_from(CHILDREN)),
    st.tuples(st.just("enrol"), st.sampled_from(EVERYONE)),
    st.tuples(st.just("serve"), st.sampled_from(EVERYONE), st.sampled_from(SERVICES), st.sampled_from(UNITS), st.booleans()),
    st.tuples(st.just("survey"), st.sampled_from(EVERYONE), st.sampled_from(["policy_awareness", "reproductive_health_awareness"]), st.booleans()),
)
# Everyone arrives first (at random times); then a random life.
histories = st.tuples(
    st.lists(st.tuples(registration, day, lag), min_size=2, max_size=len(PEOPLE)),
    st.lists(st.tuples(step, day, lag), min_size=8, max_size=40),
)


def build(history, prefix: str = "") -> History:
    """The history's events; ``prefix`` keeps its people and ids apart from another's."""
    arrivals, steps = history
    h = History(salt=prefix)
    current: dict[str, str] = {}  # a person's name -> the identity they live under now
    registered: set[str] = set()
    for person, (registration, d, late) in zip(PEOPLE, arrivals):
        steps = [(("register", person, registration), d, late), *steps]
    for (kind, person, *args), d, late in steps:
        first = prefix + person
        person = current.get(first, first)
        if kind in ("plan", "birth") and args[0] is not None:
            args = [current.get(prefix + args[0], prefix + args[0]), *args[1:]]
        at = instant("2013-01-01") + timedelta(days=d, hours=d % 7)
        recorded = at + timedelta(days=late, hours=1)
        if kind == "return":
            if person not in registered or person in h.lives_in:
                continue  # only someone who left can come back
            unit, sex, year, marital, population = args[0]
            again = f"{person}~"
            current[first] = again
            registered.add(again)
            h.registered(again, unit=unit, at=at, sex=sex, born=f"{year}-07-01", marital=marital, population=population,
                         recorded=recorded, returning=first)
        elif kind == "register":
            unit, sex, year, marital, population = args[0]
            registered.add(person)
            h.registered(person, unit=unit, at=at, sex=sex, born=f"{year}-07-01", marital=marital, population=population, recorded=recorded)
        elif kind in ("move", "depart", "marry", "wed", "plan", "birth") and person not in h.lives_in:
            continue  # the registry publishes no change for someone it does not know to live here
        elif kind == "move":
            h.moved(person, to=args[0], at=at, recorded=recorded)
        elif kind == "depart":
            h.departed(person, at=at, recorded=recorded)
        elif kind == "marry":
            h.marital(person, args[0], previous="unmarried", at=at, recorded=recorded)
        elif kind == "wed":
            spouse = current.get(prefix + args[0], prefix + args[0])
            if spouse != person:
                h.marital(person, "married", previous="unmarried", at=at, recorded=recorded, spouse=spouse)
        elif kind == "plan":
            h.planned(person, partner=args[0] if args[0] != person else None, at=at, recorded=recorded)
        elif kind == "birth":
            h.birth(person, child=args[0], at=at, recorded=recorded)
        elif kind == "enrol":
            h.enrolled(person, at=at, recorded=recorded)
        elif kind == "serve":
            h.served(person, args[0], by=args[1], at=at, free=args[2], recorded=recorded)
        elif kind == "survey":
            h.surveyed(person, args[0], aware=args[1], at=at, recorded=recorded)
    return h


def facts_in(events) -> list[Fact]:
    return [f for e in events for f in facts_of(e, catalogue.load(e))]


def kept_live(batches) -> dict:
    """What the projection does, batch after batch, against a store of the facts so far (facts
    no indicator reads are stored, and move nothing)."""
    store: dict = {}
    view: dict = {}
    for batch in batches:
        every = facts_in(batch)
        new = that_can_move(every, INDICATORS)
        known: dict = {}
        while missing := still_needed(new, known):
            known.update({person: list(store.get(person, [])) for person in missing})
        add(view, changes(known, new, PERIODS, INDICATORS))
        for f in every:
            store.setdefault(f.subject, []).append(f)
    return view


def in_batches(events, cuts):
    bounds = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
    return [events[a:b] for a, b in zip(bounds, bounds[1:])]


