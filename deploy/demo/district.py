"""A year (2013) of 市中区, as a timeline of what staff, families and departments did.

Seeded and reproducible. Its shape follows the district's own report: 11 towns and streets,
162 villages and communities, 177 full-time managers and 927 assistants, 13 associations,
400-odd person-times of training, 龙山路街道's sweep of its 7,000-odd women of childbearing age
that found 150-odd unregistered migrants and 3 unreported births. Each unit has its own
diligence, so coverage lands around the targets: most units meet them, a few do not.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from people import full_name, home_place, id_number, phone

from platform_kit.calendar import DISTRICT_TZ
from platform_kit.units import associations, unit_tree

CST = DISTRICT_TZ
YEAR = 2013
LONGSHANLU = "370402005000"  # 龙山路街道


@dataclass(frozen=True, order=True)
class Action:
    occurred_at: datetime
    seq: int
    kind: str = field(compare=False)
    recorded_at: datetime = field(compare=False)
    data: dict[str, Any] = field(compare=False, default_factory=dict)


@dataclass
class Person:
    key: str
    sex: str
    birth: date
    unit: str
    married: bool
    is_child: bool = False
    population: str = "migrant"
    id_number: str = ""
    place: str = ""
    # Where they live from each day on (None: gone from the district), in order: services are
    # given by the unit they live in on the day (在现居住地), so the plan of moves comes first.
    stays: list[tuple[date, str | None]] = field(default_factory=list)

    def unit_on(self, day: date) -> str | None:
        here = None
        for since, unit in self.stays:
            if since <= day:
                here = unit
        return here

    def age_on(self, day: date) -> int:
        return day.year - self.birth.year - ((day.month, day.day) < (self.birth.month, self.birth.day))


# The few places that fall short, each for a reason one can see in the data:
# 永安镇 熊园村 held no free pregnancy-check days after June (its doctor left): nobody there is
# checked in Q3 or Q4, and women who arrived after June are never checked in 2013.
NO_CHECKS_AFTER_JUNE = "370402103203"
# 矿区街道 answers other places' 协查 late (协查逾期): a point off per late reply, 10 at most.
LATE_REPLIES_TOWN = "370402003000"


class Year:
    def __init__(self, seed: int = 2013, scale: float = 0.25) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.tree = unit_tree()
        self.actions: list[Action] = []
        self._seq = 0
        self._people = 0
        # Most villages serve everyone they owe (the document reports the targets met); about
        # one in eight is short-handed and misses a few people in every service.
        self.diligence = {
            v.code: 1.0 if self.rng.random() < 0.88 else round(self.rng.uniform(0.78, 0.92), 3) for v in self.tree.villages()
        }
        self.staff = self._staff()
        self.people: dict[str, Person] = {}

    # -- building blocks -------------------------------------------------------------
    def _at(self, day: date, hour: int | None = None) -> datetime:
        return datetime(day.year, day.month, day.day, hour or self.rng.randint(8, 17), self.rng.randint(0, 59), tzinfo=CST)

    def add(self, kind: str, occurred: datetime, delay: timedelta | None = None, **data: Any) -> None:
        self._seq += 1
        recorded = occurred + (delay if delay is not None else timedelta(minutes=self.rng.randint(5, 240)))
        self.actions.append(Action(occurred, self._seq, kind, recorded, data))

    def _staff(self) -> dict[str, list[str]]:
        """177 managers and 927 assistants spread over the 162 villages and communities."""
        villages = [v.code for v in self.tree.villages()]
        staff: dict[str, list[str]] = {code: [f"manager-{i:03d}"] for i, code in enumerate(villages, start=1)}
        for extra in range(len(villages) + 1, 178):
            staff[self.rng.choice(villages)].append(f"manager-{extra:03d}")
        for i in range(1, 928):
            staff[villages[i % len(villages)]].append(f"assistant-{i:03d}")
        return staff

    def _day(self, start: date = date(YEAR, 1, 2), end: date = date(YEAR, 12, 28)) -> date:
        return start + timedelta(days=self.rng.randrange(max(0, (end - start).days) + 1))

    def _new_person(self, unit: str, *, sex: str, birth: date, married: bool, child: bool = False,
                    population: str = "migrant") -> Person:
        self._people += 1
        person = Person(f"p{self._people:06d}", sex, birth, unit, married, child, population)
        self.people[person.key] = person
        return person

    def _registration(self, person: Person, when: datetime, place: str, **extra: Any) -> None:
        person.place = person.place or place
        person.id_number = person.id_number or id_number(place, person.birth, person.sex, self.rng)
        if person.population == "migrant":
            extra.setdefault("arrived_from", place)
        self.add(
            "register", when, key=person.key, name=full_name(person.sex, self.rng),
            id_number=person.id_number, phone=phone(self.rng),
            sex=person.sex, birth_date=person.birth.isoformat(),
            marital_status="married" if person.married else "unmarried", population=person.population,
            household_registration_place=place, unit_code=person.unit, **extra,
        )
        person.stays.append((when.date(), person.unit))

    def _serve(self, person: Person, kind: str, day: date, unit: str | None = None, **extra: Any) -> bool:
        """A free service on ``day`` by the unit they live in then (or ``unit``); none after
        the year or once they have left."""
        day = min(day, date(YEAR, 12, 30))
        unit = unit or person.unit_on(day)
        if unit is None or day < person.stays[0][0]:
            return False
        if kind == "pregnancy_check" and unit == NO_CHECKS_AFTER_JUNE and day >= date(YEAR, 7, 1):
            return False  # no check days held there after June
        self.add("service", self._at(day), key=person.key, service_kind=kind, unit_code=unit,
                 staff_ref=self.rng.choice(self.staff[unit]), **extra)
        return True

    def _kept(self, person: Person, day: date, kind: str = "") -> bool:
        """Whether the unit they live in on ``day`` reaches them (its diligence). A short-handed
        village still hands out contraceptives to all unless it is very short (below 0.82); its
        registered population, known for years, is reached more often than its migrants."""
        unit = person.unit_on(min(day, date(YEAR, 12, 30)))
        if unit is None:
            return False
        q = self.diligence[unit]
        if kind == "free_contraceptives" and q >= 0.82:
            q = 1.0
        if person.population == "registered":
            q = min(1.0, q + 0.1)
        return self.rng.random() < q

    # -- the year ------------------------------------------------------------------------
    def build(self) -> list[Action]:
        for village in self.tree.villages():
            for _ in range(max(4, round(self.rng.randint(25, 90) * self.scale))):
                self._resident(village.code)
            for _ in range(max(1, round(self.rng.randint(4, 12) * self.scale))):
                self._couple(village.code)
            # The registered population (户籍人口) lives beside them: served by the same
            # staff, it is what 均等化 compares the migrants with.
            for _ in range(max(2, round(self.rng.randint(8, 24) * self.scale))):
                self._resident(village.code, population="registered")
        self._roster()
        self._trainings()
        self._association_activities()
        self._verifications()
        self._longshanlu_sweep()
        return sorted(self.actions)

    def _resident(self, unit: str, population: str = "migrant") -> None:
        rng = self.rng
        sex = "female" if rng.random() < 0.56 else "male"
        birth = date(rng.randint(1964, 1995), rng.randint(1, 12), rng.randint(1, 28))
        of_marriage_age = YEAR - birth.year - 1 >= (20 if sex == "female" else 22)
        would_marry = of_marriage_age and rng.random() < 0.8  # (drawn as before: the seeded year stays the same)
        person = self._new_person(unit, sex=sex, birth=birth, married=False, population=population)
        place = home_place(rng) if population == "migrant" else "370402"
        arrived = self._day(date(YEAR - 1, 3, 1), date(YEAR, 10, 31)) if population == "migrant" else date(YEAR, 1, rng.randint(2, 20))
        # Married only if of the legal age of marriage when registered: the registry refuses
        # a "married" 19-year-old woman (婚姻法: 20 for women, 22 for men).
        person.married = would_marry and person.age_on(arrived) >= (20 if sex == "female" else 22)
        self._registration(person, self._at(arrived), place)
        start = max(arrived, date(YEAR, 1, 2))
        if population == "migrant":
            self._plan_moves(person, start)
            if rng.random() < 0.6:
                issued = start + timedelta(days=rng.randint(3, 40))
                if issued.year == YEAR:
                    self.add("permit", self._at(issued), key=person.key, permit_ref=f"JZZ{unit[:6]}{YEAR}{self._seq:05d}",
                             issued_on=issued.isoformat(), valid_until=issued.replace(year=YEAR + 1).isoformat())
        self._year_of(person, start)

    def _couple(self, unit: str) -> None:
        """A young couple who arrive unmarried and marry here: each marriage names the other
        (spouse_resident_id), so the couple is one in free contraceptives (supplied once)."""
        rng = self.rng
        arrived = self._day(date(YEAR - 1, 6, 1), date(YEAR, 5, 31))
        place = home_place(rng)
        her = self._new_person(unit, sex="female", birth=date(rng.randint(1986, 1991), rng.randint(1, 12), rng.randint(1, 28)), married=False)
        him = self._new_person(unit, sex="male", birth=date(rng.randint(1983, 1989), rng.randint(1, 12), rng.randint(1, 28)), married=False)
        for person in (her, him):
            self._registration(person, self._at(arrived), place)
        start = max(arrived, date(YEAR, 1, 2))
        wedding = self._day(start + timedelta(days=10), date(YEAR, 9, 30))
        at = self._at(wedding)
        self.add("marry", at, key=her.key, spouse_key=him.key)
        self.add("marry", at + timedelta(minutes=5), key=him.key, spouse_key=her.key)
        for person in (her, him):
            person.married, person.stays = True, [(arrived, unit)]
        # Before the wedding each is owed a technical service on their own (a check-up).
        for person in (her, him):
            if self._kept(person, start):
                self._serve(person, "health_check_up", start + timedelta(days=rng.randint(1, 20)))
        supplied = wedding + timedelta(days=rng.randint(1, 25))
        if self._kept(her, supplied, "free_contraceptives"):
            self._serve(rng.choice([her, him]), "free_contraceptives", supplied)
        self._checks(her, wedding)
        if rng.random() < 0.25:
            self._plan(her, wedding + timedelta(days=rng.randint(5, 40)), partner=him)
        self._surveys(her, start)
        self._surveys(him, start)

    def _plan_moves(self, person: Person, start: date) -> None:
        """Moves within the district, a departure, or a return (returners keep their person)."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.07:
            day = start
            for _ in range(2 if rng.random() < 0.25 else 1):
                day = day + timedelta(days=rng.randint(20, 120))
                if day >= date(YEAR, 12, 1):
                    return
                here = person.stays[-1][1]
                target = rng.choice(self.tree.villages(self.tree.town_of(here).code) if rng.random() < 0.6 else self.tree.villages())
                if target.code == here:
                    continue
                self.add("move", self._at(day), key=person.key, to_unit=target.code)
                person.stays.append((day, target.code))
        elif roll < 0.10:
            left = self._day(start + timedelta(days=30), date(YEAR, 11, 30))
            self.add("depart", self._at(left), key=person.key, destination_place=person.place, reason="返乡")
            person.stays.append((left, None))
            if rng.random() < 0.4 and left < date(YEAR, 9, 1):
                # Back after the harvest: the registry knows the ID number and gives the same person.
                back = left + timedelta(days=rng.randint(30, 90))
                unit = rng.choice(self.tree.villages(self.tree.town_of(person.unit).code)).code
                self.add("register_again", self._at(back), key=person.key, unit_code=unit)
                person.stays.append((back, unit))

    def _surveys(self, person: Person, start: date) -> None:
        rng = self.rng
        for kind, share in (("policy_awareness", 0.3), ("reproductive_health_awareness", 0.2)):
            if rng.random() < share:
                day = self._day(start, date(YEAR, 12, 20))
                unit = person.unit_on(day)
                if unit is not None:
                    aware = rng.random() < 0.97 - 0.9 * (1 - self.diligence[unit])
                    self.add("survey", self._at(day), key=person.key, survey_kind=kind, aware=aware)

    def _year_of(self, person: Person, start: date) -> None:
        rng = self.rng
        if self._kept(person, start):
            self._serve(person, "policy_publicity", start + timedelta(days=rng.randint(1, 30)))
        self._surveys(person, start)
        age = person.age_on(date(YEAR, 12, 31))
        if not 15 <= age <= 49:
            return
        if person.married:
            # Contraceptives for each married person (no spouse named: each counts alone).
            day = start + timedelta(days=rng.randint(1, 30))
            if self._kept(person, day, "free_contraceptives"):
                self._serve(person, "free_contraceptives", day)
            if person.sex == "female":
                self._checks(person, start)
                if rng.random() < 0.08 and start < date(YEAR, 9, 30):
                    self._plan(person, self._day(start, date(YEAR, 9, 30)))
                born = self._day(start + timedelta(days=60))
                if rng.random() < 0.035 and born.year == YEAR and person.unit_on(born):
                    self._birth(person, born)
                if rng.random() < 0.35 and age >= 28:
                    self._school_child(person, start)
        else:
            day = start + timedelta(days=rng.randint(1, 40))
            if self._kept(person, day):
                self._serve(person, "health_check_up", day)

    def _checks(self, person: Person, start: date) -> None:
        """Free pregnancy checks, one a quarter, where she lives (在现居住地)."""
        for quarter in range(4):
            first = date(YEAR, quarter * 3 + 1, 1)
            last = date(YEAR, quarter * 3 + 3, 28)
            if last < start:
                continue
            day = max(start, first) + timedelta(days=self.rng.randint(0, 20))
            if day <= date(YEAR, 12, 30) and self._kept(person, day) and self.rng.random() < 0.985:
                self._serve(person, "pregnancy_check", day)

    def _plan(self, person: Person, planned: date, partner: Person | None = None) -> None:
        rng = self.rng
        if planned.year != YEAR or person.unit_on(planned) is None:
            return
        extra = {"partner_key": partner.key} if partner else {}
        if any(since == planned for since, unit in person.stays if unit is not None):
            # Not on the day they were registered: at a random hour it could come before the
            # registration, which the registry refuses (occurred_at before the registration).
            planned += timedelta(days=1)
        self.add("plan_pregnancy", self._at(planned), key=person.key, planned_from=planned.isoformat(), **extra)
        for kind, days in (("pre_pregnancy_consultation", (3, 30)), ("pre_pregnancy_health_check", (10, 45))):
            day = planned + timedelta(days=rng.randint(*days))
            if self._kept(person, day):
                self._serve(person, kind, day)

    def _birth(self, mother: Person, day: date, *, late: bool | None = None) -> None:
        rng = self.rng
        child = self._new_person(mother.unit_on(day) or mother.unit, sex=rng.choice(["female", "male"]), birth=day,
                                 married=False, child=True, population=mother.population)
        child.stays = [(day, mother.unit_on(day))]
        born = self._at(day)
        common = {"mother_key": mother.key, "child_key": child.key, "birth_date": day.isoformat(), "sex": child.sex}
        self.add("hospital_birth_report", born, timedelta(hours=rng.randint(2, 30)),
                 report_ref=f"ZZSLH-{YEAR}-{self._seq:05d}", **common)
        # A December birth reported by the family in March: "as occurred" and "as known" differ.
        late = late if late is not None else (day.month == 12 and rng.random() < 0.5)
        delay = timedelta(days=rng.randint(80, 100)) if late else timedelta(days=rng.randint(1, 20))
        self.add("birth", born, delay, reported_by=rng.choice(["family", "community"]),
                 report_ref=f"BR-{self._seq:06d}", **common)
        # The newborn is owed a visit (under 6: served with the mother).
        visit = day + timedelta(days=rng.randint(7, 20))
        if visit <= date(YEAR, 12, 30) and self._kept(mother, visit):
            self._serve(child, "follow_up_visit", visit, unit=mother.unit_on(visit))

    def _school_child(self, mother: Person, start: date) -> None:
        rng = self.rng
        birth = date(YEAR - rng.randint(6, 14), rng.randint(1, 12), rng.randint(1, 28))
        if birth > date(YEAR - 6, 8, 31):
            birth = birth.replace(year=birth.year - 1)  # 6 by the school-entry cut-off: of school age this year
        child = self._new_person(mother.unit_on(start) or mother.unit, sex=rng.choice(["female", "male"]), birth=birth,
                                 married=False, child=True, population=mother.population)
        self._registration(child, self._at(start), mother.place, mother_key=mother.key)
        child.stays = list(mother.stays)  # the child goes where the mother goes
        for i, (since, unit) in enumerate(mother.stays[1:], start=1):
            if unit is None:
                self.add("depart", self._at(since), key=child.key, destination_place=mother.place, reason="随母返乡")
                child.stays = child.stays[:i + 1]  # and does not come back with her (a returner is registered anew)
                break
            self.add("move", self._at(since), key=child.key, to_unit=unit)
        if self._kept(mother, start):
            enrolled = date(YEAR, 9, 1) if rng.random() < 0.5 else max(start, date(YEAR, 2, 25))
            at, school = self._at(enrolled), f"市中区第{rng.randint(1, 28)}小学"
            # Enrolled before September: the 2012-13 school year, for a child of school age
            # then; a child who was not waits for September (the registry checks the age on
            # 1 September of the school year).
            school_year = YEAR - 1 if enrolled.month < 9 else YEAR
            if child.age_on(date(school_year, 9, 1)) < 6:
                enrolled, school_year = date(YEAR, 9, 1), YEAR
                at = at.replace(month=9, day=1)
            left = next((since for since, unit in child.stays if unit is None), None)
            if left is None or enrolled < left:  # not after the child has left with the mother
                self.add("enrol", at, key=child.key, school_name=school,
                         school_year=school_year, grade=min(9, max(1, school_year - birth.year - 5)))
            else:
                rng.randint(5, 240)  # the delay it would have drawn: the rest of the seeded year stays as it was

    def _verifications(self) -> None:
        """协查 other places send the district about migrants (婚育证明 checks, due in 7 days).
        Every town answers in time but 矿区街道, whose replies come weeks late."""
        rng = self.rng
        migrants = [p for p in self.people.values() if p.population == "migrant" and not p.is_child and p.stays[0][0].year == YEAR]
        asked_about = []
        for town in self.tree.towns():
            theirs = [p for p in migrants if self.tree.town_of(p.unit).code == town.code]
            asked_about += rng.sample(theirs, min(len(theirs), max(4, round(24 * self.scale))))
        for person in asked_about:
            asked = self._day(person.stays[0][0] + timedelta(days=1), date(YEAR, 11, 30))
            unit = person.unit_on(asked)
            if unit is None:
                continue
            late = self.tree.town_of(unit).code == LATE_REPLIES_TOWN
            replied = asked + timedelta(days=rng.randint(12, 40) if late else rng.randint(1, 6))
            if replied > date(YEAR, 12, 30):
                continue
            self.add("verification", self._at(asked), key=person.key, counterpart_place=person.place,
                     requested_on=asked.isoformat())
            self.add("verification_reply", self._at(replied), key=person.key, replied_on=replied.isoformat(),
                     due_on=(asked + timedelta(days=7)).isoformat())

    def _roster(self) -> None:
        """The 177 managers and 927 assistants on their units' rosters from the first day of the
        year, before anyone serves (the services log refuses a service by staff not on it). Their
        names come from a generator of their own, so the rest of the year is as it was."""
        names = random.Random(f"roster-{YEAR}")
        first_day = datetime(YEAR, 1, 1, 8, 0, tzinfo=CST)
        for unit, refs in self.staff.items():
            for ref in refs:
                self.add("assign_staff", first_day, timedelta(minutes=1), staff_ref=ref, unit_code=unit,
                         role="manager" if ref.startswith("manager-") else "assistant",
                         name=full_name(names.choice(["female", "male"]), names), assigned_on=first_day.date().isoformat())

    def _trainings(self) -> None:
        """400-odd person-times a year: each town trains its managers and assistants (each
        trainee named once; a training of more person-times than names counts the rest as
        repeat sessions)."""
        trainees = random.Random(f"trainees-{YEAR}")
        for town in self.tree.towns():
            town_staff = [ref for v in self.tree.children(town.code) for ref in self.staff.get(v.code, [])]
            for month in (3, 6, 9, 11):
                day = date(YEAR, month, self.rng.randint(5, 25))
                person_times = self.rng.randint(7, 12)
                self.add("training", self._at(day), unit_code=town.code, topic="流动人口服务管理业务技能培训",
                         person_times=person_times,
                         trainee_refs=sorted(trainees.sample(town_staff, min(person_times, len(town_staff)))))

    def _association_activities(self) -> None:
        for association in associations():
            for _ in range(self.rng.randint(2, 5)):
                self.add("association_activity", self._at(self._day()), association_ref=association.ref,
                         unit_code=association.host_unit_code,
                         activity=self.rng.choice(["六个一服务：放映一场电影", "生殖健康知识讲座", "入户走访慰问", "文艺演出进工地"]),
                         participants=self.rng.randint(20, 300))

    def _longshanlu_sweep(self) -> None:
        """龙山路街道's clean-up sweep (清理清查): 150-odd migrants found unregistered, and 3
        births that were never reported (漏报出生), found at the sweep in November."""
        villages = self.tree.villages(LONGSHANLU)
        found = []
        for i in range(max(6, round(150 * self.scale))):
            unit = villages[i % len(villages)].code
            sex = "female" if self.rng.random() < 0.6 else "male"
            person = self._new_person(unit, sex=sex, birth=date(self.rng.randint(1970, 1988), 5, 10), married=True)
            found_on = date(YEAR, 11, self.rng.randint(4, 15))
            self._registration(person, self._at(found_on), home_place(self.rng))
            found.append(person)
            self._year_of(person, found_on)  # registered, they are served like anyone else
        for mother in [p for p in found if p.sex == "female"][:3]:
            # Born this year, living with the mother, never reported by anyone: the sweep's find.
            born = date(YEAR, self.rng.randint(2, 8), 11)
            child = self._new_person(mother.unit, sex=self.rng.choice(["female", "male"]), birth=born, married=False, child=True)
            self._registration(child, self._at(date(YEAR, 11, 16)), mother.place, mother_key=mother.key)
            self._serve(child, "follow_up_visit", date(YEAR, 11, self.rng.randint(18, 28)))
        for village in villages:
            self.add("sweep", self._at(date(YEAR, 11, 20)), unit_code=village.code)


def year_2013(seed: int = 2013, scale: float = 0.25) -> list[Action]:
    return Year(seed, scale).build()


def summary(actions: list[Action]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for action in actions:
        counts[action.kind] = counts.get(action.kind, 0) + 1
    return dict(sorted(counts.items()))


if __name__ == "__main__":
    import sys

    year = year_2013(scale=float(sys.argv[1]) if len(sys.argv) > 1 else 0.25)
    print(len(year), summary(year), year[0].occurred_at.astimezone(UTC), year[-1].occurred_at)
