"""A rebuild's final count takes the people a chunk at a time (each chunk with the facts of the
people its people link to), so that it never holds every fact: on a real database, after a
real replay, it gives exactly the figures the count over every fact in memory gives, with
chunks so small that nearly every couple, mother and child, returner and spouse is split
across two of them."""

from __future__ import annotations

from datetime import datetime

import pytest
from assessment_demo import demo_history
from assessment_examples import CHANGAN, JIANSHE, worked_examples
from assessment_histories import build, histories
from assessment_testing import History, person_id
from hypothesis import HealthCheck, given, settings

from assessment.domain.coverage import from_scratch, rolled_up
from assessment.domain.facts import links_of
from assessment.domain.people import timeline
from assessment.domain.periods import Clocks, Period, periods_of_years
from assessment.entrypoints.projection import CoverageProjection
from assessment.service_layer.live_years import LiveYears
from assessment.settings import DEFAULT_RULES, load_rules
from platform_kit.calendar import DISTRICT_TZ
from platform_kit.clock import SettableClock
from platform_kit.contract import catalogue
from platform_kit.database import apply_ddl
from platform_kit.units import unit_tree

pytestmark = [pytest.mark.postgres]

CLOCK = SettableClock(datetime(2013, 12, 31, 12, tzinfo=DISTRICT_TZ))


def returner_weds(her: str = "qian", him: str = "sun", back_in: str = CHANGAN) -> History:
    """Two steps of links: she lived in 长安 (CHANGAN), left and came back under a new id to
    ``back_in``, and the new id married him there, naming him; he was supplied. Her timeline
    (under her first id) reads his facts."""
    h = History(f"returner-{her}")
    h.registered(her, unit=CHANGAN, at="2013-01-10", born="1989-09-01", marital="unmarried")
    h.departed(her, at="2013-02-01")
    h.registered(f"{her}~", unit=back_in, at="2013-02-20", born="1989-09-01", marital="unmarried", returning=her)
    h.registered(him, unit=back_in, at="2013-01-10", sex="male", born="1986-04-01", marital="unmarried")
    h.marital(f"{her}~", "married", previous="unmarried", at="2013-03-01", spouse=him)
    h.served(him, "free_contraceptives", by=back_in, at="2013-04-15")
    return h


BASE = (
    returner_weds().events + worked_examples().events
    + demo_history(seed=11, people_per_village=2, villages_per_town=2)
)


async def rebuilt(pool, schema: str, events: list, people: int) -> CoverageProjection:
    """``events`` replayed as a rebuild does (reset, batches with ``replaying_until`` set,
    ``replayed``), the final count ``people`` at a time."""
    rules = load_rules(DEFAULT_RULES)
    projection = CoverageProjection(
        schema=schema, topics=[], rules=rules, tree=unit_tree(), catalogue=catalogue, clock=CLOCK,
        live=LiveYears(schema, rules, unit_tree(), CLOCK, chunk_people=people),
    )
    await apply_ddl(pool, schema, projection.ddl)
    async with pool.acquire() as conn:
        async with conn.transaction():
            await projection.reset(conn)
            await conn.execute(
                f"UPDATE {schema}.view_state SET value = $1 WHERE key = 'replaying_until'",
                max(e.recorded_at for e in events),
            )
        for i in range(0, len(events), 200):
            async with conn.transaction():
                await projection.apply(conn, events[i:i + 200])
        async with conn.transaction():
            await projection.replayed(conn)
    return projection


async def check(pool, projection: CoverageProjection) -> None:
    live = projection.live
    years = await live.held(pool)
    periods, before = periods_of_years(years), Period(max(years)).end
    async with pool.acquire() as conn, conn.transaction():
        every = await projection.facts.visible(conn, Clocks(), before)
        whole = from_scratch(every, periods, projection.indicators)
        chunked = await live.count(conn, periods, before)
    # The check could not pass on an empty or link-free history.
    assert whole and links_of(f for facts in every.values() for f in facts)
    assert chunked == whole
    stored = await projection.coverage.snapshot(pool)
    assert stored == sorted((u, i, str(p), n, d) for (u, i, p), (n, d) in rolled_up(whole, projection.tree).items())


@pytest.mark.parametrize("people", [1, 3, 5000])
async def test_the_chunked_final_count_equals_the_count_over_every_fact(pool, schema, people):
    await check(pool, await rebuilt(pool, schema, BASE, people))


@settings(max_examples=6, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(drawn=histories)
async def test_random_returners_couples_and_births_split_across_chunks_count_the_same(pool, schema, drawn):
    # Each example rebuilds the same schema from scratch (reset empties the views).
    events = sorted(BASE[:300] + build(drawn, prefix="x").events, key=lambda e: e.recorded_at)
    await check(pool, await rebuilt(pool, schema, events, 2))


async def test_a_read_scoped_to_units_takes_the_links_two_steps_out(pool, schema):
    """``around`` (the on-request read of one town or village) gives everything the timelines
    of the people placed there read: the same timelines as over every fact. Her new id and her
    husband live in 建设 (JIANSHE), another town: a read scoped to 长安 finds only her first id."""
    projection = await rebuilt(pool, schema, returner_weds("zhou", "wu", back_in=JIANSHE).events, 5000)
    every = await projection.facts.visible(pool, Clocks(), None)
    scoped = await projection.facts.around(pool, [CHANGAN], Clocks())
    zhou, wu = person_id("zhou"), person_id("wu")
    # Only her first id is placed in 长安: his facts come two steps out, through her new id.
    assert {u for f in every[wu] for u in f.units} == {JIANSHE}
    assert timeline(zhou, every).spouse_lines[wu].services  # what the check is about: his service reaches her
    assert timeline(zhou, scoped) == timeline(zhou, every)
