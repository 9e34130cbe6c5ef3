"""The demo's network, through the real services log: the roster, trainings and association
activities the demo generates (deploy/demo), sent as the demo's driver sends them, add up to
the year's network totals — 177 managers, 927 assistants, the 13 associations, 400-odd
person-times — on the real broker and database."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy" / "demo"))

from district import Year  # noqa: E402
import drive  # noqa: E402

from platform_kit.testing import bearer, delete_topics_of  # noqa: E402
from services_log.bootstrap import build  # noqa: E402
from services_log.settings import ServicesLogSettings  # noqa: E402

NETWORK = ("assign_staff", "training", "association_activity")


@pytest.fixture
async def services_log(stack, schema):
    namespace = f"t{uuid.uuid4().hex[:8]}."
    service = build(ServicesLogSettings(
        kafka_bootstrap_servers=stack.bootstrap_servers, database_url=stack.database_url, topic_namespace=namespace,
        database_schema=schema, relay_idle_poll_seconds=0.05,
    ))
    await service.runtime.start()
    try:
        yield service
    finally:
        await service.runtime.stop()
        delete_topics_of(stack.bootstrap_servers, namespace)


async def test_the_years_network_totals_are_what_the_demo_generated(services_log, monkeypatch):
    year = Year(seed=2013, scale=0.05)
    actions = [a for a in year.build() if a.kind in NETWORK]
    monkeypatch.setattr(drive, "district_token", lambda: "replaced below by the test's own signed caller")
    driver = drive.Driver(registry="http://registry", services_log="http://services-log", producer=None, topics=None, clock=None)
    await driver.http.aclose()
    driver.http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=services_log.app), base_url="http://services-log", headers=bearer(), timeout=60
    )
    try:
        for kind in NETWORK:  # the roster first, as the demo's timeline has it
            await asyncio.gather(*(driver._handlers[kind](a) for a in actions if a.kind == kind))
        answer = await driver.http.get("/api/network", params={"year": 2013})
    finally:
        await driver.http.aclose()
    assert not driver.refusals, driver.refusals

    generated = Counter(a.data["role"] for a in actions if a.kind == "assign_staff")
    trainings = [a.data for a in actions if a.kind == "training"]
    activities = [a.data for a in actions if a.kind == "association_activity"]
    district = answer.json()["district"]
    assert (district["managers"], district["assistants"]) == (generated["manager"], generated["assistant"]) == (177, 927)
    assert district["training_person_times"] == sum(t["person_times"] for t in trainings)
    assert district["training_person_times"] >= answer.json()["document"]["training_person_times_at_least"]
    assert district["trained_staff"] == len({ref for t in trainings for ref in t["trainee_refs"]})
    assert district["association_activities"] == len(activities)
    assert district["association_participants"] == sum(a["participants"] for a in activities)
    assert district["associations_active"] == len({a["association_ref"] for a in activities}) == 13
