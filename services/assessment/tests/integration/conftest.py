"""The browser the page tests drive: the headless Chromium `make tools` installs."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from platform_kit.testing import token

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
expect.set_options(timeout=30_000)  # how long to wait for the page to get there on a busy machine


@pytest.fixture
async def browser():
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        await browser.close()


class Pages:
    """The page as its users open it: a desktop window in Chinese, signed in with a token."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser

    async def open(self, base_url: str, *, role: str | None = "district") -> Page:
        page = await self.browser.new_page(viewport={"width": 1500, "height": 1000}, locale="zh-CN")
        await page.goto(base_url)
        if role is not None:
            await self.sign_in(page, role)
        return page

    @staticmethod
    async def sign_in(page: Page, role: str = "district") -> None:
        await page.locator("#token").fill(token(role))
        await page.locator("#sign-in button").click()


@pytest.fixture
def pages(browser) -> Pages:
    return Pages(browser)
