"""Audit tests: source stores and an assessment read model in schemas of their own, on the real
PostgreSQL; histories written with the assessment's test vocabulary (assessment_testing)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services/assessment/tests"))

from assessment.adapters import tables  # noqa: E402
from assessment.entrypoints.projection import CoverageProjection  # noqa: E402
from assessment.settings import DEFAULT_RULES, load_rules  # noqa: E402
from assessment_examples import CHANGAN, JIANSHE, XINHUA  # noqa: E402
from assessment_testing import History  # noqa: E402
from platform_kit.contract import catalogue  # noqa: E402
from platform_kit.database import apply_ddl  # noqa: E402
from platform_kit.event_store import EventStore  # noqa: E402
from platform_kit.projection import KIT_DDL  # noqa: E402
from platform_kit.units import unit_tree  # noqa: E402

TOWN = JIANSHE[:9] + "000"  # the town of Jianshe and Xinhua


def a_year() -> History:
    """A small 2013: arrivals, moves between villages and towns, services, a birth reported
    late (recorded in March 2014), a couple's pre-pregnancy consultation, a birth date corrected."""
    h = History()
    h.registered("li_na", unit=JIANSHE, at="2013-01-15", born="1985-06-01")
    h.moved("li_na", to=XINHUA, at="2013-04-20")
    h.served("li_na", "pregnancy_check", by=XINHUA, at="2013-05-03")
    h.registered("wang_qiang", unit=JIANSHE, at="2013-02-01", sex="male", born="1983-01-01")
    h.registered("zhao_min", unit=JIANSHE, at="2013-02-01", born="1988-01-01")
    h.planned("zhao_min", partner="wang_qiang", at="2013-03-01")
    h.served("wang_qiang", "pre_pregnancy_consultation", by=JIANSHE, at="2013-04-05")
    h.registered("sun_li", unit=XINHUA, at="2013-03-01", born="1990-02-02")
    h.served("sun_li", "free_contraceptives", by=XINHUA, at="2013-06-01")
    h.birth("sun_li", child="baby_sun", at="2013-12-20", recorded="2014-03-02")
    h.moved("sun_li", to=CHANGAN, at="2013-11-01")
    zhou = h.registered("zhou_ping", unit=CHANGAN, at="2013-01-10", born="1979-09-09")
    h.corrected(zhou, recorded="2013-06-03", birth_date="1979-10-09")  # a registry correction, in bundles and replays too
    h.served("zhou_ping", "follow_up_visit", by=CHANGAN, at="2013-08-08")
    return h


@pytest.fixture
async def district(pool):
    """(schemas, events): registry and services-log stores holding a year, and the assessment's
    coverage view built from them by its own projection code (no Kafka: applied directly)."""
    names = {k: f"test_{k}_{uuid.uuid4().hex[:8]}" for k in ("registry", "services", "assessment")}
    events = a_year().events
    for key, source in (("registry", "registry"), ("services", "services-log")):
        store = EventStore(pool, names[key])
        await store.setup()
        await store.append([e for e in events if e.source == source])
    projection = CoverageProjection(
        schema=names["assessment"], topics=[], rules=load_rules(DEFAULT_RULES), tree=unit_tree(), catalogue=catalogue
    )
    await apply_ddl(pool, names["assessment"], KIT_DDL)
    await apply_ddl(pool, names["assessment"], tables.DDL)
    async with pool.acquire() as conn, conn.transaction():
        await projection.apply(conn, events)
    yield names, events
    for name in names.values():
        await pool.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
