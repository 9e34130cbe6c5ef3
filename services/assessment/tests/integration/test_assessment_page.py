"""The page in a real headless browser (Debian's chromium): the league table with its colour
bands, live updates, drill-down town -> villages -> one indicator's trend and explanation,
the date picker, the English switch, the export; and a screenshot that is not blank."""

from __future__ import annotations

import os
import statistics
import struct
import zlib
from pathlib import Path

import pytest
from playwright.async_api import expect

from assessment_demo import LONGSHANLU, demo_history
from assessment_testing import History
from platform_kit.units import unit_tree

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

SCREENSHOTS = Path(os.environ.get("ASSESSMENT_SCREENSHOTS", "/tmp/assessment-page"))


def png_pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of an 8-bit RGB or RGBA PNG (what chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        chunk = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert (depth, interlace) == (8, 0) and colour in (2, 6)
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def not_blank(png: bytes) -> None:
    width, height, rows = png_pixels(png)
    assert (width, height) == (1500, 1000)
    grey = [sum(row[x : x + 3]) // 3 for row in rows[::4] for x in range(0, len(row) - 3, 3 * 4)]
    assert statistics.pstdev(grey) > 20  # a blank (or single-colour) page has none
    assert len(set(grey)) > 50  # text, bands and lines: many shades


@pytest.fixture
async def district(running):
    await running.publish(demo_history(seed=11, people_per_village=5, villages_per_town=3))
    await running.settled()
    return running


async def test_the_page_shows_the_league_follows_it_live_and_explains_it(district, pages):
    page = await pages.open(district.base_url, role=None)
    # Signed out, the page asks for a token and shows nothing; a district token signs in.
    await expect(page.locator("#sign-in")).to_be_visible()
    await expect(page.locator("#league tbody tr[data-unit]")).to_have_count(0)
    # A first visit is asked to sign in, not told its sign-in expired: no section of the page
    # asks the API anything before there is a token (a refusal would turn the prompt into
    # "expired"). Longer than any section's retry, so a section that polls shows here.
    await page.wait_for_timeout(2500)
    await expect(page.locator("#sign-in-label")).to_have_text("粘贴令牌登录（msp token --role district）")
    await page.screenshot(path=str(SCREENSHOTS / "sign-in.png"))  # what a user meets first (docs/security.md)
    await pages.sign_in(page)
    await expect(page.locator("#sign-in")).to_be_hidden()
    league = page.locator("#league tbody tr[data-unit]")
    await expect(league).to_have_count(11)
    await expect(page.locator("#live")).to_have_class("live on")
    assert await page.locator("td.indicator[data-band=green]").count() > 0
    assert await page.locator("td.indicator[data-band=red]").count() > 0
    await expect(page.locator("#league thead")).to_contain_text("免费孕检率")

    # 龙山路街道 found 3 unreported births (the document's figure): 15 points off
    await expect(page.locator(f"#league tbody tr[data-unit='{LONGSHANLU}'] .flag.penalty")).to_have_count(1)

    # drill down: 龙山路街道 -> its villages
    await page.locator(f"a[data-town='{LONGSHANLU}']").click()
    villages = [v.code for v in unit_tree().children(LONGSHANLU)]
    await expect(league).to_have_count(len(villages))
    await expect(page.locator("#crumbs")).to_contain_text("龙山路街道")

    # one indicator of one village: its trend over the months and who was counted
    cell = page.locator(f"td.indicator[data-unit='{villages[0]}'][data-indicator='services_where_they_live']")
    await cell.click()
    await expect(page.locator("#trend svg polyline.line")).to_have_count(1)
    await expect(page.locator("#trend svg circle")).not_to_have_count(0)
    await expect(page.locator("#explain li")).not_to_have_count(0)
    await expect(page.locator("#explain")).to_contain_text("ResidentRegistered")

    # live: a new migrant arrives in that village and is served; the row follows
    before = await cell.inner_text()
    h = History()
    h.registered("newcomer", unit=villages[0], at="2013-12-01", sex="male", born="1990-01-01")
    h.served("newcomer", "follow_up_visit", by=villages[0], at="2013-12-02")
    await district.publish(h.events)
    await expect(cell).not_to_have_text(before)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = await page.screenshot(path=str(SCREENSHOTS / "villages.png"))
    not_blank(shot)

    # the English switch
    await page.locator("#lang").click()
    await expect(page.locator("#league thead")).to_contain_text("Free pregnancy checks")
    await expect(page.locator("#crumbs")).to_contain_text("Longshanlu Subdistrict")

    # back to the towns, as known on 30 June
    await page.locator("#to-towns").click()
    await expect(league).to_have_count(11)
    await page.locator("#as-of").fill("2013-06-30")
    await page.locator("#known-at").fill("2013-06-30")
    await expect(page.locator("#live")).to_have_class("live history")
    await expect(page.locator("#clock-note")).to_contain_text("2013-06-30")
    # The export is fetched with the token (a plain link would send none), then saved.
    async with page.expect_download() as download, page.expect_request(lambda r: "/api/scoreboard/export" in r.url) as asked:
        await page.locator("#export-xlsx").click()
    assert (await download.value).suggested_filename == "scoreboard-2013-town.xlsx"
    assert "known_at=2013-06-30" in (await asked.value).url
    assert (await asked.value).headers["authorization"].startswith("Bearer ")
    not_blank(await page.screenshot(path=str(SCREENSHOTS / "towns-as-of-june.png")))


async def test_the_equalisation_view_shows_where_migrants_are_worse_served(running, pages):
    """Example 7's unit: in 建设社区, 2013-Q2, one migrant woman unchecked, two registered women
    of whom one checked: free pregnancy checks 0% against 50%, a gap of −50 points, in red."""
    village = "370402001001"
    h = History(salt="eq")
    h.registered("eq-zhao", unit=village, at="2013-02-01", born="1988-01-01")
    h.registered("eq-sun", unit=village, at="2013-01-10", born="1980-03-01", population="registered")
    h.registered("eq-zhou", unit=village, at="2013-01-10", born="1990-07-01", population="registered")
    h.served("eq-sun", "pregnancy_check", by=village, at="2013-05-08")
    h.served("eq-zhao", "free_contraceptives", by=village, at="2013-04-02")
    h.served("eq-sun", "free_contraceptives", by=village, at="2013-04-03")
    h.served("eq-zhou", "free_contraceptives", by=village, at="2013-04-04")
    await running.publish(h.events)
    await running.settled()

    page = await pages.open(running.base_url, role=None)
    # Signed out, the equalisation view has nothing to show: it reads with the page's token.
    await expect(page.locator("#eq-unit option")).to_have_count(0)
    await pages.sign_in(page)
    await expect(page.locator("#eq-unit option")).not_to_have_count(0)
    await page.locator("#year").select_option("2013")
    await page.locator("#part").select_option("Q2")
    await page.locator("#eq-unit").select_option(village)
    checks = page.locator("#eq-table tr[data-indicator='free_pregnancy_checks']")
    await expect(checks).to_have_attribute("data-verdict", "lagging")
    await expect(checks.locator(".eq-gap")).to_have_text("-50.0")
    await expect(checks).to_contain_text("0/1")
    await expect(checks).to_contain_text("1/2")
    # everyone supplied with contraceptives: no gap, not flagged
    contraceptives = page.locator("#eq-table tr[data-indicator='free_contraceptives']")
    await expect(contraceptives).to_have_attribute("data-verdict", "ahead")
    await expect(contraceptives.locator(".eq-gap")).to_have_text("0.0")
    # nobody of school age in either population: nothing to compare
    await expect(page.locator("#eq-table tr[data-indicator='compulsory_education_enrolment']")).to_have_attribute("data-verdict", "none")
    await expect(page.locator("#eq-summary")).to_contain_text("建设社区")

    await page.locator("#equalisation").scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.locator("#equalisation").screenshot(path=str(SCREENSHOTS / "equalisation.png"))
    await page.locator("#lang").click()
    await expect(page.locator("#equalisation h2")).to_contain_text("Equalisation")
    await expect(checks).to_contain_text("Free pregnancy checks")
    not_blank(await page.screenshot(path=str(SCREENSHOTS / "equalisation-en.png")))


async def test_a_figure_as_known_on_a_date_lists_its_events_and_a_correction_beside_what_it_corrects(running, pages):
    """A service withdrawn in February 2014: as known now, her cell lists the service struck
    through and its correction with the reason; as known on 31 January, the service alone,
    counted. Each event shows when it occurred and when it was recorded; the explain API is linked."""
    from datetime import datetime

    from assessment.domain.periods import DISTRICT_TZ
    from platform_kit.envelope import Envelope

    village, town = "370402001001", "370402001000"
    h = History(salt="corr")
    h.registered("corr-li", unit=village, at="2013-01-15", born="1985-06-01")
    service = h.served("corr-li", "free_contraceptives", by=village, at="2013-05-03")
    withdrawn = Envelope.new(
        event_type="ServiceCorrected", stream_id=service.stream_id, stream_version=2, unit_code=village,
        source="services-log", occurred_at=service.occurred_at, recorded_at=datetime(2014, 2, 10, 9, tzinfo=DISTRICT_TZ),
        payload={
            "service_id": service.payload["service_id"], "corrects": str(service.event_id),
            "resident_id": service.payload["resident_id"], "reason": "recorded for the wrong woman",
            "withdrawn": True, "service_kind": None, "staff_ref": "staff-001",
        },
    )
    await running.publish([*h.events, withdrawn])
    await running.settled()

    page = await pages.open(running.base_url)
    await page.locator("#year").select_option("2013")
    await page.locator(f"a[data-town='{town}']").click()
    await page.locator(f"td.indicator[data-unit='{village}'][data-indicator='free_contraceptives']").click()
    explain = page.locator("#explain")
    await expect(explain.locator("li.correction")).to_have_count(1)
    await expect(explain.locator("li.correction")).to_contain_text("recorded for the wrong woman")
    await expect(explain.locator(f"li.corrected[data-event='{service.event_id}']")).to_contain_text("2013-05-03")
    await expect(explain.locator("li.correction")).to_contain_text("2014-02-10")  # recorded, months later
    await expect(explain.locator("> li .unserved")).to_have_count(1)
    assert "/api/units/370402001001/explain?indicator=free_contraceptives" in await page.locator("#explain-json").get_attribute("href")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.locator("#detail").scroll_into_view_if_needed()
    not_blank(await page.screenshot(path=str(SCREENSHOTS / "explain-corrected-now.png")))

    # as known on 31 January 2014: the service, counted, and no correction yet
    await page.locator("#known-at").fill("2014-01-31")
    await expect(explain.locator("li.correction")).to_have_count(0)
    await expect(explain.locator(f"li.numerator[data-event='{service.event_id}']")).to_have_count(1)
    await expect(explain.locator("> li .served")).to_have_count(1)
    assert "known_at=2014-01-31" in await page.locator("#explain-json").get_attribute("href")
    not_blank(await page.screenshot(path=str(SCREENSHOTS / "explain-as-known-on-2014-01-31.png")))
