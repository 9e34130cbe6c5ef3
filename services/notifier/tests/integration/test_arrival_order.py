"""The notifier's decisions do not depend on the order in which its topics' partitions reach it.

The registry keeps one person's events in order (one stream, one partition), but a service
the services log records about her travels on another topic: live, the notifier may read it
before or after her move, and ``msp replay notifier`` reads the stores in the order events were
recorded. Every interleaving that keeps each stream's own order must decide the same (the
replay plan's compared views), on the real PostgreSQL, one event per transaction as live.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import pytest
from notifier_story import CHANGAN, JIANSHE, XINHUA, Story, at

from platform_kit.audit.replay import differences
from platform_kit.clock import SYSTEM_CLOCK
from platform_kit.contract import catalogue
from platform_kit.database import apply_ddl
from platform_kit.envelope import Envelope
from platform_kit.projection import KIT_DDL
from platform_kit.topics import Topics
from platform_kit.units import unit_tree

from notifier.domain.rulebook import load_rulebook
from notifier.entrypoints.projections import DecisionsProjection
from notifier.entrypoints.replay import VIEWS, plan

pytestmark = pytest.mark.integration


def interleavings(streams: Sequence[Sequence[Envelope]]) -> list[list[Envelope]]:
    """Every merge of the streams that keeps each stream's own order (what Kafka may deliver)."""
    streams = [list(s) for s in streams if s]
    if not streams:
        return [[]]
    out = []
    for i, stream in enumerate(streams):
        rest = [*streams[:i], stream[1:], *streams[i + 1 :]]
        out += [[stream[0], *tail] for tail in interleavings(rest)]
    return out


async def decided(pool, events: Sequence[Envelope], *, one_batch: bool = False) -> str:
    """The events decided into a fresh schema: one per transaction (each decided with only what
    the database holds of the ones before it), or all in one batch (the planner, in memory)."""
    schema = f"test_order_{uuid.uuid4().hex[:10]}"
    projection = DecisionsProjection(Topics(""), schema, load_rulebook(None), unit_tree(), SYSTEM_CLOCK, catalogue)
    await apply_ddl(pool, schema, KIT_DDL)
    await apply_ddl(pool, schema, projection.ddl)
    for batch in [events] if one_batch else [[e] for e in events]:
        async with pool.acquire() as conn, conn.transaction():
            await projection.apply(conn, batch)
    return schema


async def test_every_arrival_order_decides_the_same(pool):
    story, her, other = Story(), uuid.uuid4(), uuid.uuid4()
    registry = [  # her stream: she lives in Xinhua, then moves to Jianshe
        story.registered(her, XINHUA, at("2013-03-01")),
        story.moved(her, XINHUA, JIANSHE, at("2013-05-15")),
    ]
    # Served in Jianshe after the move: the services log knew she lived there (it says so).
    contraceptives = [story.service_delivered("free_contraceptives", her, JIANSHE, at("2013-05-20"), resident_unit=JIANSHE)]
    visit = [story.service_delivered("follow_up_visit", her, JIANSHE, at("2013-06-10"), resident_unit=JIANSHE)]
    someone_else = [
        story.registered(other, CHANGAN, at("2013-04-01"), marital_status="unmarried"),
        story.marital_status_changed(other, CHANGAN, at("2013-05-02"), "unmarried", "married"),
        story.pregnancy_planned(other, CHANGAN, at("2013-05-03"), date(2013, 9, 1)),
    ]
    orders = interleavings([registry, contraceptives, visit])
    recorded_order = [*registry, *contraceptives, *visit]  # how the replay reads the stores
    assert recorded_order in orders and len(orders) == 12
    tables = plan().compared
    schemas = [await decided(pool, [*someone_else, *recorded_order])]
    try:
        for order in orders:
            schemas.append(await decided(pool, [*someone_else, *order]))
            found = await differences(pool, schemas[0], schemas[-1], tables, views=VIEWS)
            assert found == [], [e.event_type for e in order]
        # The follow-up was opened and is addressed to where she lived when served.
        timers = await pool.fetch(f"SELECT recipients FROM {schemas[0]}.timers WHERE rule = 'contraceptive_follow_up'")
        assert [list(t["recipients"]) for t in timers] == [[f"unit:{JIANSHE}"]]
    finally:
        for schema in schemas:
            await pool.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


async def test_two_services_opening_the_same_watch_decide_the_same_in_either_order(pool):
    """Contraceptives twice in a month (two records, two streams) and a follow-up visit between
    them: whichever record arrives first, the same follow-ups are opened."""
    story, her = Story(), uuid.uuid4()
    registry = [story.registered(her, JIANSHE, at("2013-03-01"))]
    first = [story.service_delivered("free_contraceptives", her, JIANSHE, at("2013-05-01"), resident_unit=JIANSHE)]
    visit = [story.service_delivered("follow_up_visit", her, JIANSHE, at("2013-05-10"), resident_unit=JIANSHE)]
    second = [story.service_delivered("free_contraceptives", her, JIANSHE, at("2013-05-20"), resident_unit=JIANSHE)]
    orders = interleavings([first, visit, second])
    tables = plan().compared
    schemas = [await decided(pool, [*registry, *first, *visit, *second])]
    try:
        for order in orders:
            for one_batch in (False, True):
                schemas.append(await decided(pool, [*registry, *order], one_batch=one_batch))
                found = await differences(pool, schemas[0], schemas[-1], tables, views=VIEWS)
                assert found == [], ([e.payload["service_kind"] for e in order], one_batch, found)
        # Both follow-ups are kept; the later one waits, the earlier was fulfilled by the visit or superseded.
        timers = await pool.fetch(
            f"SELECT opened_at, state FROM {schemas[0]}.timers WHERE rule = 'contraceptive_follow_up' ORDER BY opened_at")
        assert [(t["opened_at"], t["state"]) for t in timers] == [(at("2013-05-01"), "closed"), (at("2013-05-20"), "pending")]
    finally:
        for schema in schemas:
            await pool.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
