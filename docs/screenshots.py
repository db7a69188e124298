"""Take docs/wall.png, docs/operator.png and docs/planner.png from a running `ioc run`.

    .venv/bin/python docs/screenshots.py [http://127.0.0.1:8000]

The server runs with simulated feeds and its development users (password `hanoi-ioc`).
The script signs in as the administrator in Debian's Chromium (in Vietnamese, the wall's
default), lets the feeds fill the wall, puts a signal into flash so that the operator's queue
holds a situation (the pack's rule opens it after a minute of flash), and opens the planner
on the last 15 minutes, scrubbed to a minute ago. Give a fresh server a few minutes first.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

DOCS = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
PASSWORD = "hanoi-ioc"
CITY = ZoneInfo("Asia/Ho_Chi_Minh")


def _city_input(moment: datetime, seconds: bool = False) -> str:
    """A moment as typed into the dashboard's time fields: Hanoi wall time."""
    return moment.astimezone(CITY).strftime("%Y-%m-%dT%H:%M:%S" if seconds else "%Y-%m-%dT%H:%M")


async def _settle(page: Page, ms: int = 4_000) -> None:
    await page.wait_for_timeout(ms)


async def shoot(base: str) -> None:
    """Sign in, then capture each view at 1920×1080."""
    token = httpx.post(f"{base}/api/auth/login",
                       json={"username": "admin", "password": PASSWORD}).json()["access_token"]
    httpx.post(f"{base}/api/simulator/faults", headers={"Authorization": f"Bearer {token}"},
               json={"feed": "signals", "kind": "flash", "target": "sig-kim-ma-giang-van-minh",
                     "minutes": 30})
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = await browser.new_page(viewport={"width": 1920, "height": 1080},
                                      locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        await page.goto(base + "/")
        await page.get_by_test_id("login-username").fill("admin")
        await page.get_by_test_id("login-password").fill(PASSWORD)
        await page.get_by_test_id("login-password").press("Enter")
        await page.wait_for_selector('[data-testid="tile-signals"][data-state="live"]',
                                     timeout=60_000)
        await _settle(page, 8_000)
        await page.screenshot(path=str(DOCS / "wall.png"))

        await page.get_by_test_id("nav-operator").click()
        row = page.locator('[data-testid="situation-row"] button').first
        try:
            await row.wait_for(timeout=60_000)
            await row.click()
            await page.wait_for_selector('[data-testid="situation-detail"]:not([hidden])')
        except PlaywrightTimeout:
            print("no situation opened; the operator view is shown without one")
        await page.get_by_test_id("asset-problems").check()
        await _settle(page, 8_000)  # the map eases to the situation's signal
        await page.screenshot(path=str(DOCS / "operator.png"))

        await page.get_by_test_id("nav-planner").click()
        now = datetime.now(UTC)
        await page.get_by_test_id("range-start").fill(_city_input(now - timedelta(minutes=15)))
        await page.get_by_test_id("range-end").fill(_city_input(now + timedelta(minutes=1)))
        await page.get_by_test_id("replay-load").click()
        await page.wait_for_selector('[data-testid="replay"][data-state="ready"]',
                                     timeout=60_000)
        await page.get_by_test_id("replay-at").fill(
            _city_input(now - timedelta(minutes=1), seconds=True))
        await page.get_by_test_id("replay-at").press("Enter")
        await page.wait_for_selector('[data-testid="replay"][data-state="ready"]',
                                     timeout=60_000)
        await page.get_by_test_id("replay-at").blur()
        await _settle(page)
        await page.screenshot(path=str(DOCS / "planner.png"))
        await browser.close()


if __name__ == "__main__":
    asyncio.run(shoot(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"))
