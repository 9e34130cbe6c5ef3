"""A year as known at a past date is computed once and kept (adapters/snapshots): what the
snapshot answers must be what a recomputation answers, for every unit asked about, and a fact
recorded by that date that arrives after the snapshot was made must show."""

from __future__ import annotations

from datetime import datetime

import pytest

from assessment.adapters import decisions_store, tables
from assessment.adapters.facts_store import FactStore
from assessment.domain.facts import facts_of
from assessment.domain.periods import Clocks, Period
from assessment.service_layer.queries import Reads
from assessment.settings import DEFAULT_RULES, load_rules
from assessment_demo import demo_history
from assessment_testing import History
from platform_kit.calendar import DISTRICT_TZ
from platform_kit.clock import SettableClock
from platform_kit.contract import catalogue
from platform_kit.database import apply_ddl
from platform_kit.event_store import EventStore
from platform_kit.units import unit_tree

NOW = SettableClock(datetime(2013, 12, 31, 12, tzinfo=DISTRICT_TZ))
KNOWN_AT = Clocks(known_at=datetime(2013, 10, 31, 23, 59, 59, tzinfo=DISTRICT_TZ))
PERIODS = [Period(2013), Period(2012), Period(2013, quarter=2)]


def facts(events):
    return [f for e in events for f in facts_of(e, catalogue.load(e))]


@pytest.fixture
async def reads(pool, schema) -> Reads:
    await EventStore(pool, schema).setup()  # the decisions are read from the assessment's store
    await apply_ddl(pool, schema, tables.DDL)
    await apply_ddl(pool, schema, decisions_store.DDL)
    async with pool.acquire() as conn:
        await FactStore(schema).add(conn, facts(demo_history(seed=14, people_per_village=2)))
    return Reads(lambda: pool, schema, load_rules(DEFAULT_RULES), unit_tree(), clock=NOW)


async def recomputed(reads: Reads, pool, schema, **asked):
    await pool.execute(f"DELETE FROM {schema}.figure_snapshots")
    return await reads.figures(PERIODS, KNOWN_AT, **asked)


async def test_the_snapshot_answers_what_a_recomputation_answers(reads, pool, schema):
    district = await reads.figures(PERIODS, KNOWN_AT)
    assert await pool.fetchval(f"SELECT count(*) FROM {schema}.figure_snapshots") == len(PERIODS)
    town = unit_tree().towns()[3]
    villages = [v.code for v in unit_tree().children(town.code)]
    # Asked again from the snapshot: the whole district, then only some units (the scoreboard's villages).
    assert await reads.figures(PERIODS, KNOWN_AT) == district
    some = await reads.figures(PERIODS, KNOWN_AT, units=villages)
    assert some == await recomputed(reads, pool, schema, units=villages)
    assert any(some[Period(2013)].values()), "the villages have figures: the comparison says something"
    assert district == await recomputed(reads, pool, schema)


async def test_a_fact_recorded_by_then_but_arriving_later_shows(reads, pool, schema):
    before = await reads.figures(PERIODS, KNOWN_AT)
    village = unit_tree().children(unit_tree().towns()[0].code)[0].code
    late = History(salt="late").registered("late", unit=village, at="2013-05-02", recorded="2013-06-01")
    async with pool.acquire() as conn:
        await FactStore(schema).add(conn, facts([late]))
    after = await reads.figures(PERIODS, KNOWN_AT)
    assert after != before
    assert after == await recomputed(reads, pool, schema)
