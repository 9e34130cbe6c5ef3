"""``msp replay SERVICE --compare`` for every service of a running district: the four services
run as in production (real processes, Kafka, PostgreSQL), a small history goes in through
their HTTP APIs, and once every outbox is empty and no projection lags, each service's read
models rebuilt from the event stores equal the live ones, row for row.

A correction then withdraws the service: the assessment's explanation as known before it
shows the original counted, and now shows the original with its correction (and not counted),
and the replays still equal the live views.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from platform_kit.cli import app
from platform_kit.testing import bearer

_spec = importlib.util.spec_from_file_location("district_harness", Path(__file__).resolve().parents[1] / "service_processes.py")
harness = importlib.util.module_from_spec(_spec)
sys.modules.setdefault(_spec.name, harness)
_spec.loader.exec_module(harness)

# Four processes start, settle twice, and eight replays run: on a loaded machine, minutes.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]

LONGSHAN_1, JIANSHE = "370402005001", "370402001001"
TENGZHOU = "370481"
SERVICES = ("registry", "services-log", "assessment", "notifier")
runner = CliRunner()


def id_number(sequence: int) -> str:
    """A valid 18-digit number (GB 11643) for a woman born on 15 March 1988 in 滕州."""
    first17 = f"{TENGZHOU}19880315{sequence * 2 % 1000:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


@pytest.fixture(scope="module")
def district(stack, tmp_path_factory):
    d = harness.district(
        stack.bootstrap_servers, stack.database_url, tmp_path_factory.mktemp("replayed"),
        clock_start="2013-06-10T10:00:00+08:00", clock_started_at=datetime.now(UTC).isoformat(),
    )
    try:
        for process in d.processes.values():
            process.start()
        for process in d.processes.values():
            process.wait_ready(timeout=600)  # four processes starting at once on a machine others load too
        yield d
    finally:
        d.stop()
        harness.forget_run(stack.bootstrap_servers, stack.database_url, d.namespace, list(d.schemas.values()))


def woman(unit_code: str, id_number: str, occurred_at: str) -> dict:
    return {
        "name": "王秀英", "id_number": id_number, "sex": "female", "birth_date": "1988-03-15",
        "marital_status": "married", "population": "migrant", "household_registration_place": TENGZHOU,
        "unit_code": unit_code, "phone": "13906321234", "occurred_at": occurred_at,
    }


async def post(http: httpx.AsyncClient, url: str, body: dict) -> dict:
    answer = await http.post(url, json=body)
    assert answer.status_code in (200, 201), (url, answer.status_code, answer.text)
    return answer.json()


async def quiet(district, pool) -> None:
    """Every outbox empty and no projection behind, twice in a row (a projection that appends
    events, the assessment's announcer, fills an outbox again)."""
    deadline, calm = time.monotonic() + 180, 0
    while calm < 2:
        assert time.monotonic() < deadline, "the district did not settle"
        waiting = sum([await pool.fetchval(f"SELECT count(*) FROM {schema}.outbox") for schema in district.schemas.values()])
        try:
            # A fresh connection each time: a server may close an idle kept-alive one as we reuse it.
            async with httpx.AsyncClient(timeout=15) as http:
                lag = sum([_lags((await http.get(district.url(name) + "/health/ready")).json()) for name in SERVICES])
        except httpx.HTTPError:
            lag = -1
        calm = calm + 1 if waiting == 0 and lag == 0 else 0
        await asyncio.sleep(1)


def _lags(report) -> int:
    if isinstance(report, dict):
        return (report.get("total_lag") or 0) + sum(_lags(v) for k, v in report.items() if k != "total_lag")
    if isinstance(report, list):
        return sum(_lags(v) for v in report)
    return 0


async def test_every_service_rebuilt_from_history_equals_its_live_views(district, stack, pool):
    registry, services = district.url("registry"), district.url("services-log")
    async with httpx.AsyncClient(timeout=15, headers=bearer()) as http:
        her = (await post(http, f"{registry}/api/residents", woman(LONGSHAN_1, id_number(101), "2013-03-01T09:00:00+08:00")))["resident_id"]
        other = (await post(http, f"{registry}/api/residents", woman(JIANSHE, id_number(102), "2013-03-05T09:00:00+08:00")))["resident_id"]
        await post(http, f"{registry}/api/residents/{her}/moves", {"to_unit": JIANSHE, "occurred_at": "2013-05-15T09:00:00+08:00"})
        # Services name a member of staff on the roster (the services log refuses others).
        await post(http, f"{services}/api/staff", {
            "staff_ref": "staff-7", "unit_code": JIANSHE, "role": "assistant", "name": "李娜", "assigned_on": "2013-01-01"})
        service = await post(http, f"{services}/api/services", {
            "service_kind": "free_contraceptives", "resident_id": her, "delivered_by_unit": JIANSHE,
            "staff_ref": "staff-7", "occurred_at": "2013-05-20T10:00:00+08:00",
        })
        await post(http, f"{registry}/api/residents/{other}/departure", {
            "destination_place": TENGZHOU, "reason": "returned home", "occurred_at": "2013-06-01T09:00:00+08:00",
        })
    await quiet(district, pool)
    await replay_compares_equal(district, stack, pool)

    # A correction: the service was recorded for the wrong woman. It follows the service on its
    # stream; the explanation as known before it still shows the original, and now shows both.
    async with httpx.AsyncClient(timeout=15, headers=bearer()) as http:
        recorded = (await http.get(f"{services}/api/services/{service['id']}")).json()["recorded_at"]
        corrected = await post(http, f"{services}/api/services/{service['id']}/corrections", {
            "withdrawn": True, "reason": "recorded for the wrong woman", "staff_ref": "staff-7",
        })
        assert corrected["corrects"] == service["event_id"]
        await quiet(district, pool)

        async def explained(**clocks) -> dict:
            answer = await http.get(f"{district.url('assessment')}/api/units/{JIANSHE}/explain", params={
                "indicator": "free_contraceptives", "period": "2013", **clocks,
            })
            assert answer.status_code == 200, answer.text
            return next(p for p in answer.json()["people"] if p["resident_id"] == her)

        then, now = await explained(known_at=recorded), await explained()
    assert then["served"] and [e["event_id"] for e in then["events"] if e["role"] == "numerator"] == [service["event_id"]]
    assert not [e for e in then["events"] if e["role"] in ("corrected", "correction")]
    assert not now["served"]
    assert [(e["role"], e["event_id"]) for e in now["events"] if e["role"] in ("corrected", "correction")] == [
        ("corrected", service["event_id"]), ("correction", corrected["event_id"]),
    ]
    assert [e["reason"] for e in now["events"] if e["role"] == "correction"] == ["recorded for the wrong woman"]
    await replay_compares_equal(district, stack, pool)

    # A registry correction: her move was entered on the wrong day (纠正错误). The registry's view
    # reads the right day's record, the explanation shows the move beside its correction, and
    # every replay still equals the live views.
    async with httpx.AsyncClient(timeout=15, headers=bearer()) as http:
        history = await pool.fetch(
            f"SELECT event_id FROM {district.schemas['registry']}.events WHERE stream_id = $1 AND event_type = 'ResidentMoved'",
            f"resident-{her}")
        move_id = str(history[0]["event_id"])
        version = (await http.get(f"{registry}/api/residents/{her}")).json()["stream_version"]
        refused = await http.post(f"{registry}/api/residents/{her}/corrections", json={"corrects": move_id, "reason": "x"})
        assert refused.status_code == 422 and "reason" in refused.text, refused.text
        right = await post(http, f"{registry}/api/residents/{her}/corrections", {
            "corrects": move_id, "reason": "清理清查核实：实际4月1日迁入", "occurred_at": "2013-04-01T09:00:00+08:00"})
        await quiet(district, pool)
        explained_now = await explained()  # (it reads with this client: `http` is looked up when called)
        view = (await http.get(f"{registry}/api/residents/{her}")).json()
    assert view["unit_code"] == JIANSHE and view["stream_version"] == version + 1, view
    pairs = [(e["role"], e["event_id"], e.get("corrected_type")) for e in explained_now["events"] if e["role"] in ("corrected", "correction")]
    assert ("corrected", move_id, None) in pairs and ("correction", str(right["event_ids"][0]), "ResidentMoved") in pairs, pairs
    await replay_compares_equal(district, stack, pool)

    # And the compare can fail: one live cell edited in the registry's view is named.
    await pool.execute(f"UPDATE {district.schemas['registry']}.residents SET unit_code = $2 WHERE resident_id = $1", uuid.UUID(her), LONGSHAN_1)
    result = await replay(stack, pool, district, "registry")
    assert result.exit_code == 1 and "only live" in result.output and her[:8] in result.output, result.output


async def replay(stack, pool, district, service: str):
    """``msp replay SERVICE --compare`` against the district's own schemas; the rebuilt one is dropped."""
    schemas = district.schemas
    sources = {
        "registry": [schemas["registry"]],
        "services-log": [schemas["registry"]],
        "assessment": [schemas["registry"], schemas["services-log"]],
        "notifier": [schemas["registry"], schemas["services-log"], schemas["assessment"]],
    }
    into = f"replay_{uuid.uuid4().hex[:10]}"
    try:
        return runner.invoke(app, [
            "replay", service, "--compare", "--database-url", stack.database_url, "--into", into,
            "--live-schema", schemas[service], *[arg for s in sources[service] for arg in ("--source", s)],
        ], env={"COLUMNS": "400"})
    finally:
        await pool.execute(f"DROP SCHEMA IF EXISTS {into} CASCADE")


async def replay_compares_equal(district, stack, pool) -> None:
    # The notifier too: its decisions no longer depend on the order its topics' partitions
    # reached it (services/notifier/tests/integration/test_arrival_order.py; docs/audit.md).
    for service in SERVICES:
        result = await replay(stack, pool, district, service)
        assert result.exit_code == 0, (service, result.output)
        assert "identical" in result.output, (service, result.output)
