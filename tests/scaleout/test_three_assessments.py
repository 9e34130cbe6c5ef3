"""Three assessment instances share the work through one consumer group and one schema, and
their views are the views one instance gives: coverage per unit for the period and the
scoreboard, while the three read together, while one is stopped (SIGTERM) and started again
mid-stream, and while one of them rebuilds (the kit's rebuild is group-wide by generation).

The single-instance result is a rebuild on one instance after the other two have stopped: it
reads every event again from the beginning, alone. The denominators are also checked against
the commands themselves (every woman registered is one to serve in her unit), so two views
that are equally wrong do not pass. Every check polls; none measures time.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from scaleout_support import district_api, harness

from platform_kit.testing import bearer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

# Four villages of four towns; the scoreboard ranks their towns, and each village within its town.
VILLAGES = ("370402002001", "370402005001", "370402001001", "370402003001")
TOWNS = tuple(v[:-3] + "000" for v in VILLAGES)
PERIODS = ("2013", "2013-Q2")
KINDS = ("pregnancy_check", "free_contraceptives", "policy_publicity")
DEADLINE = 150.0
REPLAY_START = "2013-06-10T10:00:00+08:00"


class Drive:
    """The commands, through the registry's and the services log's public APIs."""

    def __init__(self, district) -> None:
        self.district = district
        self.http = httpx.AsyncClient(timeout=30, headers=bearer("district"))
        self.women: dict[str, list[str]] = {v: [] for v in VILLAGES}
        self.sequence = 0
        self.limit = asyncio.Semaphore(6)

    async def post(self, service: str, path: str, body: dict) -> dict:
        async with self.limit:
            answer = await self.http.post(self.district.url(service) + path, json=body)
        assert answer.status_code in (200, 201), (path, answer.status_code, answer.text)
        return answer.json()

    async def register(self, count: int) -> None:
        async def one(sequence: int) -> None:
            village = VILLAGES[sequence % len(VILLAGES)]
            body = district_api.married_migrant_woman(village, sequence, occurred_at=f"2013-0{1 + sequence % 5}-02T09:00:00+08:00")
            self.women[village].append((await self.post("registry", "/api/residents", body))["resident_id"])

        start, self.sequence = self.sequence, self.sequence + count
        await asyncio.gather(*(one(s) for s in range(start, start + count)))

    async def serve(self, count: int) -> None:
        """Services to women already registered: some served twice, some never."""
        everyone = [(v, w) for v in VILLAGES for w in self.women[v]]

        async def one(i: int) -> None:
            village, woman = everyone[(i * 7) % len(everyone)]
            await self.post("services-log", "/api/services", {
                "service_id": str(uuid.uuid4()), "service_kind": KINDS[i % len(KINDS)], "resident_id": woman,
                "delivered_by_unit": village, "staff_ref": "staff-0412", "free_of_charge": True,
                "occurred_at": f"2013-0{4 + i % 2}-1{i % 10}T10:00:00+08:00",
            })

        await asyncio.gather(*(one(i) for i in range(count)))

    async def close(self) -> None:
        await self.http.aclose()


def figures(coverage: dict) -> list[tuple]:
    return sorted((i["id"], i["numerator"], i["denominator"]) for i in coverage["indicators"])


def board(scoreboard: dict) -> list[tuple]:
    return sorted(
        (r["unit_code"], tuple(sorted(r["flags"])),
         tuple(sorted((k, v["numerator"], v["denominator"]) for k, v in r["indicators"].items())))
        for r in scoreboard["rows"]
    )


async def views(http: httpx.AsyncClient, instance) -> dict:
    """The assessment's views as one instance serves them."""
    async def get(path: str, **params) -> dict:
        answer = await http.get(instance.url + path, params=params)
        assert answer.status_code == 200, (instance.name, path, answer.status_code, answer.text)
        return answer.json()

    seen: dict = {}
    for period in PERIODS:
        for unit in VILLAGES + TOWNS:
            seen[("coverage", unit, period)] = figures(await get(f"/api/units/{unit}/coverage", period=period))
        seen[("scoreboard", "town", period)] = board(await get("/api/scoreboard", period=period, level="town"))
        for town in TOWNS:
            seen[("scoreboard", town, period)] = board(await get("/api/scoreboard", period=period, level="village", parent=town))
    return seen


async def total_lag(http: httpx.AsyncClient, instance) -> int | None:
    """The projection lag an instance reports (None while it is not ready or not answering)."""
    try:
        answer = await http.get(instance.url + "/health/ready")
    except httpx.HTTPError:
        return None
    if answer.status_code != 200:
        return None
    lags = [v["total_lag"] for v in _details(answer.json()) if "total_lag" in v]
    return sum(lags) if lags else None


def _details(report) -> list[dict]:
    found = []
    if isinstance(report, dict):
        if "total_lag" in report:
            found.append(report)
        for value in report.values():
            found += _details(value)
    elif isinstance(report, list):
        for value in report:
            found += _details(value)
    return found


def denominators(seen: dict, indicator: str = "services_where_they_live") -> dict[str, int]:
    return {unit: next(d for i, _, d in seen[("coverage", unit, "2013")] if i == indicator) for unit in VILLAGES}


async def settled(http: httpx.AsyncClient, instances, women: dict[str, list[str]]) -> dict:
    """The views once every running instance reports no lag, every registered woman is
    counted where she lives, and two reads in a row agree; every instance serves the same."""
    deadline = time.monotonic() + DEADLINE
    previous, last = None, "nothing read yet"
    expected = {v: len(w) for v, w in women.items()}
    while time.monotonic() < deadline:
        lags = [await total_lag(http, i) for i in instances]
        if all(lag == 0 for lag in lags):
            seen = await views(http, instances[0])
            if denominators(seen) == expected and seen == previous:
                for other in instances[1:]:
                    assert await views(http, other) == seen, f"{other.name} serves other views than {instances[0].name}"
                return seen
            previous, last = seen, f"denominators {denominators(seen)}, expected {expected}"
        else:
            previous, last = None, f"lags {lags}"
        await asyncio.sleep(1.0)
    raise AssertionError(f"the views did not settle within {DEADLINE:.0f} s; last: {last}")


async def rebuild(http: httpx.AsyncClient, instance) -> None:
    answer = await http.post(instance.url + "/api/admin/rebuild")
    assert answer.status_code == 202, (answer.status_code, answer.text)


@pytest.fixture
def district(stack, tmp_path):
    yield from harness.running_district(
        stack.bootstrap_servers, stack.database_url, tmp_path / "district",
        services=("registry", "services-log", "assessment"), instances={"assessment": 3},
        clock_start=REPLAY_START, clock_started_at=datetime.now(UTC).isoformat(),
        # On a three-broker cluster (stack.sh up-cluster), the topics are replicated as in production.
        topic_partitions="6", topic_replication_factor="3" if stack.bootstrap_servers.count(",") >= 2 else "1",
    )


async def test_three_assessments_serve_what_one_serves_through_a_restart_and_a_rebuild(district):
    first, second, third = district.instances("assessment")
    drive = Drive(district)
    http = httpx.AsyncClient(timeout=30, headers=bearer("district"))
    try:
        # The staff member every service names is on the roster (the services log refuses others).
        await drive.post("services-log", "/api/staff", {
            "staff_ref": "staff-0412", "unit_code": VILLAGES[0], "role": "manager", "name": "张丽", "assigned_on": "2013-01-01"})
        # Three instances reading together.
        await drive.register(120)
        await drive.serve(120)

        # One leaves (SIGTERM: it leaves the group) mid-stream and comes back.
        second.stop()
        await drive.register(60)
        await drive.serve(60)
        second.start()
        await drive.register(30)
        second.wait_ready()
        await drive.serve(30)
        together = await settled(http, [first, second, third], drive.women)

        # One of them rebuilds while the commands keep coming: group-wide, so the others
        # throw away what they hold and read again from the beginning with it.
        await rebuild(http, third)
        await drive.register(40)
        await drive.serve(60)
        after_rebuild = await settled(http, [first, second, third], drive.women)
        assert sum(denominators(after_rebuild).values()) == drive.sequence == 250
        assert any(n for key, rows in after_rebuild.items() if key[0] == "coverage" for _, n, _ in rows), "no service counted"

        # One instance alone, from the beginning: what a single-instance district shows.
        second.stop()
        third.stop()
        await rebuild(http, first)
        alone = await settled(http, [first], drive.women)
        assert alone == after_rebuild
        assert {k: v for k, v in alone.items()} != together  # the last commands changed the views
    finally:
        await http.aclose()
        await drive.close()
