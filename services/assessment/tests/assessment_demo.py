"""A realistic year of the district, made up: migrants arrive, move, marry, plan pregnancies,
give birth (a few reported late), are served well or badly depending on their town, answer
surveys; sweeps find unreported births (龙山路街道 found 3, as the document says).

A test fixture, not part of the service: used by the page test, the rebuild test, the bench and
``python services/assessment/tests/assessment_demo.py`` (which publishes it to the namespace's
topics, for a look at the page)."""

from __future__ import annotations

import argparse
import asyncio
import random
from datetime import datetime, timedelta

from assessment_testing import History
from platform_kit.calendar import DISTRICT_TZ
from platform_kit.envelope import Envelope
from platform_kit.units import unit_tree

LONGSHANLU = "370402005000"


def _day(rng: random.Random, year: int, start_month: int = 1, end_month: int = 12) -> datetime:
    start = datetime(year, start_month, 1, 9, tzinfo=DISTRICT_TZ)
    end = datetime(year + (end_month == 12), end_month % 12 + 1, 1, 9, tzinfo=DISTRICT_TZ)
    return start + timedelta(minutes=rng.randrange(int((end - start).total_seconds() // 60)))


def _later(rng: random.Random, after: datetime, year: int) -> datetime | None:
    end = datetime(year + 1, 1, 1, tzinfo=DISTRICT_TZ)
    if after >= end - timedelta(days=2):
        return None
    return after + timedelta(minutes=rng.randrange(60, int((end - after).total_seconds() // 60)))


def demo_history(
    *, seed: int = 2013, year: int = 2013, people_per_village: int = 12, villages_per_town: int | None = None,
    late_share: float = 0.03, towns: list[str] | None = None, prefix: str = "",
) -> list[Envelope]:
    """Every event of the made-up year, in the order the system recorded them. ``towns``
    limits it to some towns; ``prefix`` keeps its people and ids apart from another history's."""
    rng = random.Random(seed)
    tree = unit_tree()
    h = History(salt=prefix)
    towns = [t for t in tree.towns() if towns is None or t.code in towns]
    quality = {t.code: rng.uniform(0.62, 0.99) for t in towns}
    villages = {t.code: tree.children(t.code)[:villages_per_town] for t in towns}
    everywhere = [v.code for vs in villages.values() for v in vs]
    n = 0

    def late(at: datetime) -> datetime:
        if rng.random() < late_share:
            return at + timedelta(days=rng.randrange(20, 100))
        return at + timedelta(minutes=rng.randrange(5, 48 * 60))

    def serve(name: str, kind: str, unit: str, q: float, after: datetime) -> None:
        if rng.random() < q and (at := _later(rng, after, year)):
            h.served(name, kind, by=unit, at=at, recorded=late(at))

    for town in towns:
        q = quality[town.code]
        for village in villages[town.code]:
            for _ in range(people_per_village):
                n += 1
                name, kind = f"{prefix}p{n}", rng.random()
                arrived = _day(rng, year, 1, 3) if rng.random() < 0.7 else _day(rng, year, 4, 11)
                unit = village.code
                if kind < 0.45:  # a married woman of childbearing age, often with her husband
                    h.registered(name, unit=unit, at=arrived, born=f"{rng.randrange(1966, 1996)}-{rng.randrange(1, 13):02d}-15")
                    husband = f"{name}h"
                    if rng.random() < 0.5:
                        h.registered(husband, unit=unit, at=arrived, sex="male", born=f"{rng.randrange(1964, 1994)}-03-01")
                        serve(husband, "free_contraceptives", unit, q, arrived)
                    serve(name, "free_contraceptives", unit, q, arrived)
                    serve(name, "pregnancy_check", unit, q, arrived)
                    if rng.random() < 0.25 and (planned := _later(rng, arrived, year)):
                        partner = husband if husband in h.lives_in else None
                        h.planned(name, partner=partner, at=planned)
                        serve(name, "pre_pregnancy_consultation", unit, q, planned - timedelta(days=20))
                        serve(partner or name, "pre_pregnancy_health_check", unit, q, planned)
                        if rng.random() < 0.3 and (born := _later(rng, planned + timedelta(days=60), year)):
                            h.birth(name, child=f"{name}c", at=born, recorded=late(born) if rng.random() < 0.5 else born + timedelta(days=rng.randrange(60, 120)))
                            continue  # nothing happens to her after the birth in this story
                elif kind < 0.6:  # a child of compulsory-school age
                    h.registered(name, unit=unit, at=arrived, sex=rng.choice(["female", "male"]), born=f"{rng.randrange(2000, 2007)}-09-01", marital="unmarried")
                    if rng.random() < min(1.0, q + 0.1) and (at := _later(rng, arrived, year)):
                        h.enrolled(name, at=at, recorded=late(at))
                else:  # a young worker
                    h.registered(name, unit=unit, at=arrived, sex=rng.choice(["female", "male"]), born=f"{rng.randrange(1975, 1995)}-05-20", marital=rng.choice(["unmarried", "married"]))
                serve(name, rng.choice(["follow_up_visit", "policy_publicity", "health_check_up"]), unit, q, arrived)
                for survey in ("policy_awareness", "reproductive_health_awareness"):
                    if rng.random() < 0.5 and (at := _later(rng, arrived, year)):
                        h.surveyed(name, survey, aware=rng.random() < q + 0.05, at=at, recorded=late(at))
                if rng.random() < 0.08 and (at := _later(rng, arrived, year)):
                    h.moved(name, to=rng.choice(everywhere), at=at)
                elif rng.random() < 0.04 and (at := _later(rng, arrived, year)):
                    h.departed(name, at=at)
    for town in towns:
        found = 3 if town.code == LONGSHANLU else (1 if rng.random() < 0.2 else 0)
        if not villages[town.code]:
            continue
        for _ in range(found):
            at = _day(rng, year, 10, 12)
            h.discrepancy(unit=rng.choice(villages[town.code]).code, at=at, recorded=at + timedelta(hours=2))
    return sorted(h.events, key=lambda e: e.recorded_at)


async def publish(events: list[Envelope], bootstrap_servers: str, registry_topic: str, services_topic: str) -> None:
    from platform_kit.kafka import idempotent_producer

    producer = idempotent_producer(bootstrap_servers)
    await producer.start()
    try:
        sends = [
            await producer.send(registry_topic if e.source == "registry" else services_topic, value=e.to_bytes(), key=e.key)
            for e in events
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


def main() -> None:
    from platform_kit.kafka import ensure_topics
    from platform_kit.settings import KitSettings
    from platform_kit.topics import Topics

    parser = argparse.ArgumentParser(prog="python services/assessment/tests/assessment_demo.py", description=__doc__)
    parser.add_argument("--people-per-village", type=int, default=12)
    parser.add_argument("--seed", type=int, default=2013)
    args = parser.parse_args()
    settings = KitSettings()
    topics = Topics(settings.topic_namespace)
    events = demo_history(seed=args.seed, people_per_village=args.people_per_village)

    async def run() -> None:
        await ensure_topics(settings.kafka_bootstrap_servers, topics.public)
        await publish(events, settings.kafka_bootstrap_servers, topics.registry_events, topics.services_events)

    asyncio.run(run())
    print(f"published {len(events)} events to {topics.registry_events} and {topics.services_events}")


if __name__ == "__main__":
    main()
