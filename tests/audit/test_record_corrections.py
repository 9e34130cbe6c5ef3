"""The registry's corrections (``ResidentRecordCorrected``) on the real PostgreSQL: a birth date
entered wrong, a move entered on the wrong day and a move that never happened, each corrected
months later by an event naming it. The assessment's view, kept event by event, counts the
right version; figures as known before each correction still show the original; a replay
equals the live view; and ``msp audit diff`` names each correction beside the event it corrects.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest
from assessment_testing import History
from conftest import CHANGAN, JIANSHE, XINHUA
from typer.testing import CliRunner

from assessment.adapters import tables
from assessment.domain.audit_figures import unit_figures
from assessment.domain.periods import Clocks, Period
from assessment.entrypoints.projection import CoverageProjection
from assessment.settings import DEFAULT_RULES, load_rules
from platform_kit.calendar import DISTRICT_TZ
from platform_kit.cli import app
from platform_kit.contract import catalogue
from platform_kit.database import apply_ddl
from platform_kit.event_store import EventStore
from platform_kit.projection import KIT_DDL
from platform_kit.units import unit_tree

runner = CliRunner()
BEFORE, AFTER = "2014-01-31", "2014-03-31"  # knowledge dates either side of the corrections (February 2014)
Q3 = Period.parse("2013-Q3")


def history() -> tuple[History, dict[str, object]]:
    h = History(salt="record-corrections")
    chen = h.registered("chen", unit=JIANSHE, at="2013-01-10", born="1960-05-01")  # entered 53: not of childbearing age
    h.registered("liu", unit=JIANSHE, at="2013-01-10", born="1986-01-01")
    liu_moved = h.moved("liu", to=XINHUA, at="2013-12-20")  # she moved in June: entered on the wrong day
    h.registered("zhao", unit=JIANSHE, at="2013-01-10", born="1987-07-07")
    zhao_moved = h.moved("zhao", to=CHANGAN, at="2013-03-01")  # never happened: she still lives in Jianshe
    # Each checked where she really lived: counted "where they live" once the record is right.
    h.served("zhao", "pregnancy_check", by=JIANSHE, at="2013-08-01")
    h.served("liu", "pregnancy_check", by=XINHUA, at="2013-08-02")
    corrections = {
        "birth date": h.corrected(chen, recorded="2014-02-10", birth_date="1985-05-01"),
        "day": h.corrected(liu_moved, recorded="2014-02-11", happened="2013-06-01"),
        "withdrawn": h.corrected(zhao_moved, recorded="2014-02-12", withdrawn=True),
    }
    return h, {"originals": {"birth date": chen, "day": liu_moved, "withdrawn": zhao_moved}, **corrections}


@pytest.fixture
async def corrected_district(pool):
    names = {k: f"test_{k}_{uuid.uuid4().hex[:8]}" for k in ("registry", "services", "assessment")}
    h, named = history()
    for key in ("registry", "services"):
        await EventStore(pool, names[key]).setup()
    await EventStore(pool, names["registry"]).append([e for e in h.events if e.source == "registry"])
    await EventStore(pool, names["services"]).append([e for e in h.events if e.source == "services-log"])
    projection = CoverageProjection(
        schema=names["assessment"], topics=[], rules=load_rules(DEFAULT_RULES), tree=unit_tree(), catalogue=catalogue
    )
    await apply_ddl(pool, names["assessment"], KIT_DDL)
    await apply_ddl(pool, names["assessment"], tables.DDL)
    for event in sorted(h.events, key=lambda e: e.recorded_at):  # live: one at a time, as they were recorded
        async with pool.acquire() as conn, conn.transaction():
            await projection.apply(conn, [event])
    yield names, h, named
    for name in names.values():
        await pool.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def known_on(day: str) -> Clocks:
    return Clocks(known_at=datetime.fromisoformat(day).replace(hour=23, tzinfo=DISTRICT_TZ))


async def test_figures_as_known_before_show_the_original_and_after_the_correction(corrected_district, pool):
    names, h, _ = corrected_district
    rules, tree = load_rules(DEFAULT_RULES), unit_tree()

    def women(unit: str, clocks: Clocks) -> int:  # married women of childbearing age, counted in Q3 2013
        return unit_figures(h.events, rules, tree, unit, Q3, clocks)["free_pregnancy_checks"][1]

    # Known on 31 January: chen too old, liu still in Jianshe in Q3, zhao in Changan.
    assert (women(JIANSHE, known_on(BEFORE)), women(XINHUA, known_on(BEFORE)), women(CHANGAN, known_on(BEFORE))) == (1, 0, 1)
    # Known on 31 March: chen counted (28), liu in Xinhua from June, zhao never left Jianshe.
    assert (women(JIANSHE, known_on(AFTER)), women(XINHUA, known_on(AFTER)), women(CHANGAN, known_on(AFTER))) == (2, 1, 0)
    # The live view, kept event by event, says the same as the recomputation.
    live = {
        r["unit_code"]: r["denominator"] for r in await pool.fetch(
            f"SELECT unit_code, denominator FROM {names['assessment']}.coverage "
            "WHERE period = '2013-Q3' AND indicator = 'free_pregnancy_checks'")
    }
    assert (live.get(JIANSHE, 0), live.get(XINHUA, 0), live.get(CHANGAN, 0)) == (2, 1, 0)


async def test_a_replay_of_the_corrected_history_equals_the_live_view(corrected_district, stack, pool):
    names, _, _ = corrected_district
    into = f"test_replay_{uuid.uuid4().hex[:8]}"
    try:
        result = runner.invoke(app, [
            "replay", "assessment", "--compare", "--database-url", stack.database_url, "--into", into,
            "--live-schema", names["assessment"], "--source", names["registry"], "--source", names["services"],
        ])
        assert result.exit_code == 0 and "identical" in result.output, result.output
    finally:
        await pool.execute(f"DROP SCHEMA IF EXISTS {into} CASCADE")


def test_the_diff_names_each_correction_beside_the_event_it_corrects(corrected_district, stack):
    names, _, named = corrected_district
    result = runner.invoke(app, [
        "audit", "diff", "--period", "2013-Q3", "--known-at", BEFORE, "--known-at", AFTER, "--level", "village", "--json",
        "--database-url", stack.database_url, "--registry-schema", names["registry"], "--services-schema", names["services"],
    ], terminal_width=240)
    assert result.exit_code == 0, result.output
    changed = {(c["unit"], c["indicator"]): c for c in map(json.loads, result.output.splitlines())}
    women = {unit: changed[(unit, "free_pregnancy_checks")] for unit in (JIANSHE, XINHUA, CHANGAN)}
    assert [(w["before"], w["after"]) for w in women.values()] == [([0, 1], [1, 2]), ([0, 0], [1, 1]), ([0, 1], [0, 0])]
    for unit, case in ((JIANSHE, "birth date"), (XINHUA, "day"), (CHANGAN, "withdrawn")):
        listed = {e["event_id"]: e for e in women[unit]["events"]}
        correction, original = named[case], named["originals"][case]
        assert listed[str(correction.event_id)]["corrects"] == str(original.event_id), (unit, listed)
        assert listed[str(original.event_id)]["event_type"] == original.event_type  # recorded long before: shown with it


def test_the_diff_names_the_corrections_that_changed_a_past_ranking(corrected_district, stack):
    """中心街's villages for Q3 2013: as first known, Jianshe ranked alone (Xinhua had nobody
    to count); with the move's right day Liu lived in Xinhua when checked there, and Xinhua
    ranks above Jianshe. The rank rows name the correction and the move it corrects."""
    names, _, named = corrected_district
    result = runner.invoke(app, [
        "audit", "diff", "--period", "2013-Q3", "--known-at", BEFORE, "--known-at", AFTER, "--level", "village", "--json",
        "--database-url", stack.database_url, "--registry-schema", names["registry"], "--services-schema", names["services"],
    ], terminal_width=240)
    assert result.exit_code == 0, result.output
    ranks = {c["unit"]: c for c in map(json.loads, result.output.splitlines()) if c["indicator"] == "rank"}
    assert (ranks[JIANSHE]["before"][0], ranks[JIANSHE]["after"][0]) == (1, 2)
    assert (ranks[XINHUA]["before"][0], ranks[XINHUA]["after"][0]) == (None, 1)
    listed = {e["event_id"]: e for e in ranks[XINHUA]["events"]}
    assert listed[str(named["day"].event_id)]["corrects"] == str(named["originals"]["day"].event_id)
    assert str(named["originals"]["day"].event_id) in listed
    table = runner.invoke(app, [
        "audit", "diff", "--period", "2013-Q3", "--known-at", BEFORE, "--known-at", AFTER, "--level", "village",
        "--database-url", stack.database_url, "--registry-schema", names["registry"], "--services-schema", names["services"],
    ], terminal_width=240)
    assert "rank 1 (" in table.output and "corrects" in table.output, table.output
