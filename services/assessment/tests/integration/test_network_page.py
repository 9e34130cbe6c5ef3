"""The network on the assessment's page (docs/network.md): the services log runs as its own
process, the assessment passes GET /api/network through to it with the caller's token, and the
page's network section shows a unit's staff, trainings and association activities, the units
below it, and the district's totals beside the document's 177 / 927 / 13 / 400+ — in a real
headless browser, on the real broker and database."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from platform_kit.testing import bearer
from platform_kit.units import unit_tree

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

# tests/service_processes.py by path: tests/ is not a package (as tests/e2e/conftest.py loads it).
_spec = importlib.util.spec_from_file_location(
    "district_harness", Path(__file__).resolve().parents[4] / "tests" / "service_processes.py"
)
harness = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = harness
_spec.loader.exec_module(harness)

SCREENSHOTS = Path(os.environ.get("ASSESSMENT_SCREENSHOTS", "/tmp/assessment-page"))
YONGFU, KANGLE, LONGSHAN = "370402005001", "370402005002", "370402005000"  # 龙山路街道 and two of its communities
JIANSHE = "370402001001"  # a community of 中心街街道
ON_2013 = "2013-05-08T09:00:00+08:00"


@pytest.fixture
def services_log(stack, tmp_path):
    """The services log as production starts it, in a namespace and schema of its own."""
    yield from harness.running_district(stack.bootstrap_servers, stack.database_url, tmp_path, services=("services-log",))


@pytest.fixture
async def network(services_log, settings, serve):
    url = services_log.url("services-log")
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=bearer()) as log:
        for ref, unit, role in [("staff-0001", YONGFU, "manager"), ("staff-0002", YONGFU, "assistant"),
                                ("staff-0003", KANGLE, "assistant"), ("staff-0004", JIANSHE, "manager")]:
            body = {"staff_ref": ref, "unit_code": unit, "role": role, "name": "李梅", "assigned_on": "2013-01-02"}
            assert (await log.post("/api/staff", json=body)).status_code == 201
        leaving = {"staff_ref": "staff-0004", "removed_on": "2013-07-01", "reason": "调往区卫生局"}
        assert (await log.post("/api/staff/removals", json=leaving)).status_code == 201
        training = {"held_by_unit": LONGSHAN, "topic": "业务培训", "person_times": 30,
                    "trainee_refs": ["staff-0001", "staff-0003"], "occurred_at": ON_2013}
        assert (await log.post("/api/trainings", json=training)).status_code == 201
        activity = {"association_ref": "association-03", "activity": "计生知识讲座", "participants": 40, "occurred_at": ON_2013}
        assert (await log.post("/api/association-activities", json=activity)).status_code == 201
        async with serve(settings.model_copy(update={"services_log_url": url})) as assessment:
            yield assessment, log


async def test_the_assessment_passes_the_network_through_with_the_callers_token(network):
    assessment, log = network
    direct = await log.get("/api/network", params={"year": 2013})
    passed = await assessment.http.get("/api/network", params={"year": 2013})
    assert (passed.status_code, passed.json()) == (200, direct.json())

    # The village's own token goes on: the services log answers with that village's units only.
    village = await assessment.http.get("/api/network", params={"year": 2013}, headers=bearer("village", YONGFU))
    assert [u["unit_code"] for u in village.json()["units"]] == [YONGFU]
    # Its refusals come back as they are: a problem naming the parameter.
    refused = await assessment.http.get("/api/network", params={"year": 2013, "as_of": "2014-01-01"})
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "query.as_of")
    exported = await assessment.http.get("/api/network.csv", params={"year": 2013})
    assert exported.headers["content-disposition"] == 'attachment; filename="network-2013.csv"'
    assert exported.text == (await log.get("/api/network.csv", params={"year": 2013})).text


async def test_without_the_services_log_configured_the_network_is_unavailable_naming_the_setting(running):
    answer = await running.http.get("/api/network", params={"year": 2013})
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (503, "services_log_url")


async def test_the_page_shows_a_towns_network_and_the_district_beside_the_document(network, pages):
    assessment, _log = network
    page = await pages.open(assessment.base_url)
    await expect(page.locator("#nw-unit option")).not_to_have_count(0)
    await page.locator("#year").select_option("2013")
    await page.locator("#nw-unit").select_option(LONGSHAN)

    town = page.locator(f"#nw-units tr[data-unit='{LONGSHAN}']")
    await expect(town.locator(".managers")).to_have_text("1")
    await expect(town.locator(".assistants")).to_have_text("2")
    await expect(town.locator(".training_person_times")).to_have_text("30")
    await expect(town.locator(".association_participants")).to_have_text("40")
    await expect(page.locator(f"#nw-units tr[data-unit='{YONGFU}'] .managers")).to_have_text("1")
    await expect(page.locator(f"#nw-units tr[data-unit='{KANGLE}'] .assistants")).to_have_text("1")
    communities = unit_tree().children(LONGSHAN)
    await expect(page.locator("#nw-units tbody tr")).to_have_count(1 + len(communities))  # the town, then each below

    # The district: 中心街's manager left on 1 July, so one manager beside the document's 177.
    managers = page.locator("#nw-document tr[data-figure='managers']")
    await expect(managers.locator(".ours")).to_have_text("1")
    await expect(managers.locator(".theirs")).to_have_text("177")
    await expect(managers).to_have_attribute("data-verdict", "short")
    await expect(page.locator("#nw-document tr[data-figure='training_person_times'] .theirs")).to_have_text("≥400")
    await expect(page.locator("#nw-as-of")).to_have_text("人员截至 2013-12-31")

    # Staff counted on a day before the leaving: the page's "as of" date goes with the question.
    await page.locator("#as-of").fill("2013-06-30")
    await page.locator("#as-of").dispatch_event("change")
    await expect(managers.locator(".ours")).to_have_text("2")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.locator("#network").scroll_into_view_if_needed()
    await page.locator("#network").screenshot(path=str(SCREENSHOTS / "network.png"))
