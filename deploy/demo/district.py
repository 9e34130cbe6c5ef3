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


class Year:
    def __init__(self, seed: int = 2013, scale: float = 0.25) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.tree = unit_tree()
        self.actions: list[Action] = []
        self._seq = 0
        self._people = 0
        self.diligence = {v.code: min(0.995, self.rng.betavariate(14, 1.2)) for v in self.tree.villages()}
        self.staff = self._staff()

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

    def _new_person(self, unit: str, *, sex: str, birth: date, married: bool, child: bool = False) -> Person:
        self._people += 1
        return Person(f"p{self._people:06d}", sex, birth, unit, married, child)

    def _registration(self, person: Person, when: datetime, place: str, **extra: Any) -> None:
        self.add(
            "register", when, key=person.key, name=full_name(person.sex, self.rng),
            id_number=id_number(place, person.birth, person.sex, self.rng), phone=phone(self.rng),
            sex=person.sex, birth_date=person.birth.isoformat(),
            marital_status="married" if person.married else "unmarried", population="migrant",
            household_registration_place=place, unit_code=person.unit, **extra,
        )

    def _serve(self, person: Person, kind: str, day: date, unit: str | None = None, **extra: Any) -> None:
        if day.year != YEAR:
            return
        unit = unit or person.unit
        self.add("service", self._at(day), key=person.key, service_kind=kind, unit_code=unit,
                 staff_ref=self.rng.choice(self.staff[unit]), **extra)

    # -- the year ------------------------------------------------------------------------
    def build(self) -> list[Action]:
        for village in self.tree.villages():
            for _ in range(max(4, round(self.rng.randint(25, 90) * self.scale))):
                self._migrant(village.code)
        self._trainings()
        self._association_activities()
        self._longshanlu_sweep()
        return sorted(self.actions)

    def _migrant(self, unit: str) -> None:
        rng, q = self.rng, self.diligence[unit]
        sex = "female" if rng.random() < 0.56 else "male"
        birth = date(rng.randint(1964, 1995), rng.randint(1, 12), rng.randint(1, 28))
        of_marriage_age = YEAR - birth.year - 1 >= (20 if sex == "female" else 22)  # the legal age of marriage
        person = self._new_person(unit, sex=sex, birth=birth, married=of_marriage_age and rng.random() < 0.8)
        place = home_place(rng)
        arrived = self._day(date(YEAR - 1, 3, 1), date(YEAR, 10, 31))
        self._registration(person, self._at(arrived), place, arrived_from=place)
        start = max(arrived, date(YEAR, 1, 2))
        if rng.random() < 0.6:
            issued = start + timedelta(days=rng.randint(3, 40))
            if issued.year == YEAR:
                self.add("permit", self._at(issued), key=person.key, permit_ref=f"JZZ{unit[:6]}{YEAR}{self._seq:05d}",
                         issued_on=issued.isoformat(), valid_until=issued.replace(year=YEAR + 1).isoformat())
        if rng.random() < 0.9 * q + 0.08:
            self._serve(person, "policy_publicity", start + timedelta(days=rng.randint(1, 30)))
        if rng.random() < 0.3:
            self.add("survey", self._at(self._day(start)), key=person.key, survey_kind="policy_awareness",
                     aware=rng.random() < 0.72 + 0.25 * q)
        if rng.random() < 0.2:
            self.add("survey", self._at(self._day(start)), key=person.key, survey_kind="reproductive_health_awareness",
                     aware=rng.random() < 0.7 + 0.27 * q)
        childbearing = person.sex == "female" and person.married and 15 <= YEAR - birth.year <= 49
        if childbearing:
            self._childbearing_year(person, start, q)
            if rng.random() < 0.35 and YEAR - birth.year >= 28:
                self._school_child(person, start, place, q)
        if rng.random() < 0.07:
            self._move(person, start)
        elif rng.random() < 0.04:
            left = self._day(start + timedelta(days=30))
            self.add("depart", self._at(left), key=person.key, destination_place=home_place(rng), reason="返乡")

    def _childbearing_year(self, person: Person, start: date, q: float) -> None:
        rng = self.rng
        if rng.random() < q:
            self._serve(person, "free_contraceptives", start + timedelta(days=rng.randint(1, 45)))
            if rng.random() < 0.8:
                self._serve(person, "follow_up_visit", start + timedelta(days=rng.randint(46, 120)))
        for quarter in range(4):
            first = date(YEAR, quarter * 3 + 1, 1)
            if first >= start - timedelta(days=60) and rng.random() < q:
                day = max(start, first) + timedelta(days=rng.randint(0, 50))
                if day.year == YEAR:
                    self._serve(person, "pregnancy_check", day)
        if rng.random() < 0.08 and start < date(YEAR, 9, 30):
            planned = self._day(start, date(YEAR, 9, 30))
            self.add("plan_pregnancy", self._at(planned), key=person.key, planned_from=planned.isoformat())
            if rng.random() < q:
                self._serve(person, "pre_pregnancy_consultation", planned + timedelta(days=rng.randint(3, 30)))
            if rng.random() < q - 0.02:
                self._serve(person, "pre_pregnancy_health_check", planned + timedelta(days=rng.randint(10, 60)))
        born = self._day(start + timedelta(days=60))
        if rng.random() < 0.035 and born.year == YEAR:
            self._birth(person, born)

    def _birth(self, mother: Person, day: date, *, late: bool | None = None) -> None:
        rng = self.rng
        child = self._new_person(mother.unit, sex=rng.choice(["female", "male"]), birth=day, married=False, child=True)
        born = self._at(day)
        common = {"mother_key": mother.key, "child_key": child.key, "birth_date": day.isoformat(), "sex": child.sex}
        self.add("hospital_birth_report", born, timedelta(hours=rng.randint(2, 30)),
                 report_ref=f"ZZSLH-{YEAR}-{self._seq:05d}", **common)
        # A December birth reported by the family in March: "as occurred" and "as known" differ.
        late = late if late is not None else (day.month == 12 and rng.random() < 0.5)
        delay = timedelta(days=rng.randint(80, 100)) if late else timedelta(days=rng.randint(1, 20))
        self.add("birth", born, delay, reported_by=rng.choice(["family", "community"]),
                 report_ref=f"BR-{self._seq:06d}", **common)

    def _school_child(self, mother: Person, start: date, place: str, q: float) -> None:
        rng = self.rng
        birth = date(YEAR - rng.randint(6, 14), rng.randint(1, 12), rng.randint(1, 28))
        child = self._new_person(mother.unit, sex=rng.choice(["female", "male"]), birth=birth, married=False, child=True)
        self._registration(child, self._at(start), place, arrived_from=place, mother_key=mother.key)
        if rng.random() < 0.96 + 0.04 * q:
            enrolled = date(YEAR, 9, 1) if rng.random() < 0.5 else max(start, date(YEAR, 2, 25))
            self.add("enrol", self._at(enrolled), key=child.key, school_name=f"市中区第{rng.randint(1, 28)}小学",
                     school_year=YEAR, grade=min(9, max(1, YEAR - birth.year - 5)))

    def _move(self, person: Person, start: date) -> None:
        rng = self.rng
        moves = 2 if rng.random() < 0.25 else 1
        day = start
        for _ in range(moves):
            day = day + timedelta(days=rng.randint(20, 120))
            if day.year != YEAR:
                return
            target = rng.choice(self.tree.villages(self.tree.town_of(person.unit).code) if rng.random() < 0.6 else self.tree.villages())
            if target.code == person.unit:
                continue
            self.add("move", self._at(day), key=person.key, to_unit=target.code)
            person.unit = target.code
            if rng.random() < self.diligence[person.unit]:
                self._serve(person, "policy_publicity", day + timedelta(days=rng.randint(1, 20)))

    def _trainings(self) -> None:
        """400-odd person-times a year: each town trains its managers and assistants."""
        for town in self.tree.towns():
            for month in (3, 6, 9, 11):
                day = date(YEAR, month, self.rng.randint(5, 25))
                self.add("training", self._at(day), unit_code=town.code, topic="流动人口服务管理业务技能培训",
                         person_times=self.rng.randint(7, 12))

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
            self._registration(person, self._at(date(YEAR, 11, self.rng.randint(4, 15))), home_place(self.rng))
            found.append(person)
        for mother in [p for p in found if p.sex == "female"][:3]:
            # Born this year, living with the mother, never reported by anyone: the sweep's find.
            born = date(YEAR, self.rng.randint(2, 8), 11)
            child = self._new_person(mother.unit, sex=self.rng.choice(["female", "male"]), birth=born, married=False, child=True)
            self._registration(child, self._at(date(YEAR, 11, 16)), home_place(self.rng), mother_key=mother.key)
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
