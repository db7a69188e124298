"""Browser fixtures: Debian's Chromium through Python playwright, and signing in as a person."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
# The development users that every non-production server creates.
PASSWORD = "hanoi-ioc"
VIEWPORT = {"width": 1920, "height": 1080}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium (never downloaded: `make test` installs Debian's)."""
    if shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get)")
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        await chromium.close()


async def sign_in(browser: Browser, base_url: str, username: str, path: str = "/") -> Page:
    """A fresh browser profile that opens the dashboard and signs in by typing."""
    context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    return await sign_in_on(await context.new_page(), base_url, username, path)


async def sign_in_on(page: Page, base_url: str, username: str, path: str = "/") -> Page:
    """Open the dashboard in `page` and sign in by typing; returns once it is live."""
    await page.goto(base_url + path)
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-password").press("Enter")
    await page.wait_for_selector('[data-testid="connection"][data-state="live"]', timeout=30_000)
    return page
