"""The page's year at a glance and the district's open orders, in a real headless browser: a
village's letter against its figures, its rank (and reward) in each quarter, its open orders
(none), and every open order with its deadline (docs/rectification.md)."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from assessment_examples import JIANSHE, XINHUA, ZHONGXINJIE, worked_examples

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def test_a_villages_year_at_a_glance_and_every_open_order(running, pages):
    await running.publish(worked_examples().events)
    await running.settled()
    ranking = await running.http.post("/api/rankings", json={"period": "2013-Q2", "level": "village", "parent": ZHONGXINJIE})
    assert ranking.json()[1]["payload"]["unit_code"] == XINHUA, ranking.text
    rules = await running.get("/api/indicators")
    ids = [i["id"] for i in (rules if isinstance(rules, list) else rules["indicators"])]
    letter = {"unit_code": JIANSHE, "year": 2013, "targets": dict.fromkeys(ids, 0.9), "signed_on": "2013-01-10",
              "signed_by": "中心街街道办事处"}
    assert (await running.http.post("/api/letters", json=letter)).status_code == 201

    page = await pages.open(running.base_url)
    await expect(page.locator("#rc-unit option")).not_to_have_count(0)
    await page.locator("#year").select_option("2013")
    await page.locator("#rc-unit").select_option(JIANSHE)

    compared = (await running.get(f"/api/units/{JIANSHE}/letter", year=2013))["comparison"]
    assert any(line["met"] is False for line in compared)
    for line in compared:
        verdict = "none" if line["met"] is None else "met" if line["met"] else "short"
        row = page.locator(f"#rc-letter tr[data-indicator='{line['indicator']}']")
        await expect(row).to_have_attribute("data-verdict", verdict)
    await expect(page.locator("#rc-ranks li")).to_have_count(4)
    await expect(page.locator("#rc-ranks li[data-quarter='Q2']")).to_contain_text("第1名")
    await expect(page.locator("#rc-ranks li[data-quarter='Q2'] .reward")).to_have_count(1)
    await expect(page.locator("#rc-mine")).to_have_text("无未完成的整改")  # the order is 新华社区's
    order = page.locator(f"#rc-open tr[data-unit='{XINHUA}']")
    [listed] = await running.get("/api/rectifications", open="true")
    await expect(order.locator(".deadline")).to_have_text(listed["next_deadline"])
