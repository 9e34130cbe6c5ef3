"""Events of an older schema version, stored as they were written, replay into today's shape.

``fixtures/old_versions/*.json`` hold stored events (full envelopes) of past payload versions,
committed as they were, never edited: ServiceDelivered v1, whose model defaulted
``free_of_charge`` to true and so could leave it out (v2 requires it); CoverageChanged v1, one
cell per event (v2 lists every cell an announcement moved). The stores keep them
as v1; every reader sees v2 through the catalogue's upcaster. Without the upcaster the replay
cannot read them (seen: exit 3, "no upcaster from v1"), and the unit test below fails too.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from platform_kit.cli import app
from platform_kit.contract import catalogue
from platform_kit.envelope import Envelope
from platform_kit.event_store import EventStore

FIXTURES = Path(__file__).parent / "fixtures" / "old_versions"
runner = CliRunner()


def stored(path: Path) -> list[Envelope]:
    return [Envelope.model_validate(e) for e in json.loads(path.read_text(encoding="utf-8"))]


def test_every_past_version_of_every_event_type_has_a_fixture_that_reads_as_the_current_shape():
    fixtures = [e for path in sorted(FIXTURES.glob("*.json")) for e in stored(path)]
    for event_type in catalogue.event_types:
        have = {e.schema_version for e in fixtures if e.event_type == event_type}
        assert set(range(1, catalogue.current_version(event_type))) <= have, f"{event_type}: no fixture of a past version"
    for event in fixtures:
        upcast = catalogue.upcast(event)
        assert upcast.schema_version == catalogue.current_version(event.event_type)
        dumped = catalogue.load(event).model_dump(mode="json")  # validates against today's model
        assert {k: dumped.get(k) for k in upcast.payload} == upcast.payload  # nothing dropped or changed


def test_a_v1_service_reads_as_free():
    [service] = [e for e in stored(FIXTURES / "service_delivered_v1.json") if e.event_type == "ServiceDelivered"]
    assert service.schema_version == 1 and "free_of_charge" not in service.payload
    assert catalogue.load(service).free_of_charge is True


@pytest.fixture
async def old_stores(pool):
    names = {k: f"test_{k}_{uuid.uuid4().hex[:8]}" for k in ("registry", "services", "rebuilt")}
    events = stored(FIXTURES / "service_delivered_v1.json")
    for key, source in (("registry", "registry"), ("services", "services-log")):
        store = EventStore(pool, names[key])
        await store.setup()
        await store.append([e for e in events if e.source == source])
    yield names
    for name in names.values():
        await pool.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


async def test_stored_v1_events_replay_through_the_upcaster_into_todays_figures(old_stores, stack, pool):
    names = old_stores
    assert await pool.fetchval(f"SELECT schema_version FROM {names['services']}.events") == 1  # stored as written
    result = runner.invoke(app, [
        "replay", "assessment", "--database-url", stack.database_url, "--into", names["rebuilt"],
        "--source", names["registry"], "--source", names["services"],
    ])
    assert result.exit_code == 0, result.output
    # Her free contraceptives (the v1 event without free_of_charge) count for 建设社区 in May.
    row = await pool.fetchrow(
        f"SELECT numerator, denominator FROM {names['rebuilt']}.coverage "
        "WHERE indicator = 'free_contraceptives' AND unit_code = '370402001001' AND period = '2013-05'"
    )
    assert row is not None and (row["numerator"], row["denominator"]) == (1, 1), dict(row or {})
    facts = await pool.fetch(f"SELECT kind, data FROM {names['rebuilt']}.facts WHERE kind = 'ServiceDelivered'")
    assert [json.loads(f["data"])["free"] if isinstance(f["data"], str) else f["data"]["free"] for f in facts] == [True]
