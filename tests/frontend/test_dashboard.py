"""The wall in headless Chromium, as a person sees it: districts whose figures change live."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright
from redis.asyncio import Redis

from feeds.parking import ParkingObservation
from ioc.bus import RedisBus
from tests.ioc.server import Server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get)")
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        await chromium.close()


async def _occupancy(page: Page, code: str) -> str:
    row = page.locator(f'[data-testid="district-row"][data-code="{code}"]')
    return await row.get_attribute("data-occupancy") or ""


async def test_a_district_figure_changes_live_without_a_reload(
    server: Server, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1920, "height": 1080})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    await page.goto(server.base_url + "/")
    await page.wait_for_selector('[data-testid="connection"][data-state="live"]', timeout=20_000)
    await page.wait_for_function(
        """() => {
            const row = document.querySelector('[data-testid="district-row"][data-code="002"]');
            return row && row.dataset.occupancy !== '';
        }""",
        timeout=20_000,
    )
    before = await _occupancy(page, "002")
    assert 0 <= float(before) < 1

    # Every car park of Hoàn Kiếm reports full, stamped ahead of the simulator's clock
    # so that its next readings do not overwrite it while the test looks.
    sites = httpx.get(server.base_url + "/api/parking/sites").json()["features"]
    hoan_kiem = [f for f in sites if f["properties"].get("district") == "002"]
    assert hoan_kiem, "the Hanoi pack has car parks in Hoàn Kiếm"
    later = datetime.now(UTC) + timedelta(hours=1)
    full = [
        ParkingObservation(
            site_id=f["properties"]["id"], vehicle_type=vehicle, observed_at=later,
            capacity=figures["capacity"], occupied=figures["capacity"], status="full",
            lon=f["geometry"]["coordinates"][0], lat=f["geometry"]["coordinates"][1],
            district="002",
        )
        for f in hoan_kiem
        for vehicle, figures in f["properties"]["by_vehicle"].items()
    ]
    redis = Redis.from_url(server.env["IOC_REDIS__URL"])
    try:
        await RedisBus(redis, server.env["IOC_REDIS__PREFIX"]).publish("parking", full)
    finally:
        await redis.aclose()

    await page.wait_for_function(
        """() => document.querySelector(
            '[data-testid="district-row"][data-code="002"]').dataset.occupancy === '1'""",
        timeout=10_000,
    )
    row_text = await page.locator('[data-testid="district-row"][data-code="002"]').inner_text()
    assert "100" in row_text
    assert "Hoàn Kiếm" in row_text
    assert await page.locator("canvas.maplibregl-canvas").count() == 1
    assert errors == []


async def test_the_signal_tile_goes_live_and_counts_a_flash_injected_on_demand(
    server: Server, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1920, "height": 1080})
    await page.goto(server.base_url + "/")
    await page.wait_for_selector('[data-testid="tile-signals"][data-state="live"]',
                                 timeout=30_000)
    flash = page.locator('[data-testid="signals-flash"]')
    before = int(await flash.get_attribute("data-value") or 0)
    response = httpx.post(server.base_url + "/api/simulator/faults", json={
        "feed": "signals", "kind": "flash", "target": "sig-giang-vo-cat-linh", "minutes": 5})
    assert response.status_code == 202
    await page.wait_for_function(
        """(before) => Number(document.querySelector('[data-testid="signals-flash"]')
            .dataset.value) > before""", arg=before, timeout=30_000)
    share = float(await page.locator('[data-testid="signals-normal-share"]')
                  .get_attribute("data-value") or "nan")
    assert 0 < share < 1
