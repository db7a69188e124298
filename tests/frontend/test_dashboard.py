"""The wall in headless Chromium, as a person sees it: districts whose figures change live."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page
from redis.asyncio import Redis

from feeds.parking import ParkingObservation
from ioc.bus import RedisBus
from tests.auth import bearer
from tests.frontend.conftest import sign_in
from tests.ioc.server import Server

pytestmark = pytest.mark.browser


async def _occupancy(page: Page, code: str) -> str:
    row = page.locator(f'[data-testid="district-row"][data-code="{code}"]')
    return await row.get_attribute("data-occupancy") or ""


async def test_a_district_figure_changes_live_without_a_reload(
    server: Server, browser: Browser
) -> None:
    page = await sign_in(browser, server.base_url, "viewer")
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    await page.wait_for_function(
        """() => {
            const row = document.querySelector('[data-testid="district-row"][data-code="002"]');
            return row && row.dataset.occupancy !== '';
        }""",
        timeout=20_000,
    )
    before = await _occupancy(page, "002")
    assert 0 <= float(before) < 1
    row = page.locator('[data-testid="district-row"][data-code="002"]')
    band_before = await row.get_attribute("data-band")
    assert band_before != "4", "Hoàn Kiếm does not start full"

    # Every car park of Hoàn Kiếm reports full, stamped ahead of the simulator's clock
    # so that its next readings do not overwrite it while the test looks.
    sites = httpx.get(server.base_url + "/api/parking/sites",
                      headers=bearer("viewer")).json()["features"]
    hoan_kiem = [f for f in sites if f["properties"].get("district") == "002"]
    assert hoan_kiem, "the Hanoi pack has car parks in Hoàn Kiếm"
    later = server.city_now() + timedelta(hours=1)
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
    # The colour changed with the figure: the top band, on the list and on the map.
    assert await row.get_attribute("data-band") == "4"
    row_text = await row.inner_text()
    assert "100" in row_text
    assert "Hoàn Kiếm" in row_text
    assert await page.locator("canvas.maplibregl-canvas").count() == 1
    assert errors == []


async def test_the_signal_tile_goes_live_and_counts_a_flash_injected_on_demand(
    server: Server, browser: Browser
) -> None:
    page = await sign_in(browser, server.base_url, "viewer")
    await page.wait_for_selector('[data-testid="tile-signals"][data-state="live"]',
                                 timeout=30_000)
    flash = page.locator('[data-testid="signals-flash"]')
    before = int(await flash.get_attribute("data-value") or 0)
    response = httpx.post(server.base_url + "/api/simulator/faults",
                          headers=bearer("operator"), json={
        "feed": "signals", "kind": "flash", "target": "sig-giang-vo-cat-linh", "minutes": 5})
    assert response.status_code == 202
    await page.wait_for_function(
        """(before) => Number(document.querySelector('[data-testid="signals-flash"]')
            .dataset.value) > before""", arg=before, timeout=30_000)
    share = float(await page.locator('[data-testid="signals-normal-share"]')
                  .get_attribute("data-value") or "nan")
    assert 0 < share < 1
