"""The operator and planner views in headless Chromium, driven as people would: two
operators share one situation queue, and a planner scrubs a replay back in time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, Page

from tests.auth import bearer
from tests.frontend.conftest import sign_in
from tests.ioc.server import Server

pytestmark = pytest.mark.browser

OPEN_ROW = '[data-testid="situation-list"][data-tab="open"] [data-testid="situation-row"]'


def _flash(server: Server, signal: str) -> None:
    response = httpx.post(server.base_url + "/api/simulator/faults", headers=bearer("operator"),
                          json={"feed": "signals", "kind": "flash", "target": signal,
                                "minutes": 10})
    assert response.status_code == 202, response.text


async def _operator(browser: Browser, server: Server) -> Page:
    page = await sign_in(browser, server.base_url, "operator")
    await page.get_by_test_id("nav-operator").click()
    await page.wait_for_selector('[data-testid="queue"]')
    return page


async def test_a_situation_acknowledged_by_one_operator_leaves_the_open_list_of_another(
    server: Server, browser: Browser
) -> None:
    first = await _operator(browser, server)
    second = await _operator(browser, server)
    _flash(server, "sig-kim-ma-giang-van-minh")

    # The signal in flash opens a situation that both operators see in their open list.
    row = first.locator(OPEN_ROW).first
    await row.wait_for(timeout=60_000)
    situation = await row.get_attribute("data-id")
    assert situation
    in_second = second.locator(f'{OPEN_ROW}[data-id="{situation}"]')
    await in_second.wait_for(timeout=30_000)

    await row.locator("button").click()
    await first.get_by_test_id("action-acknowledge").click()
    await first.wait_for_selector(
        '[data-testid="situation-detail"][data-status="acknowledged"]', timeout=15_000)

    # The other operator's browser drops it from the open list without a reload...
    await in_second.wait_for(state="detached", timeout=30_000)
    # ...and finds it under "handling", acknowledged by the first operator.
    await second.get_by_test_id("queue-tab-handling").click()
    handled = second.locator(f'[data-testid="situation-row"][data-id="{situation}"]')
    await handled.wait_for(timeout=10_000)
    assert await handled.get_attribute("data-status") == "acknowledged"


async def test_the_operator_filters_the_asset_list_and_opens_a_signal(
    server: Server, browser: Browser
) -> None:
    page = await _operator(browser, server)
    rows = page.get_by_test_id("asset-row")
    await rows.first.wait_for(timeout=30_000)
    await page.get_by_test_id("asset-kind").select_option("signal")
    await page.get_by_test_id("asset-search").fill("Kim Mã")
    await page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="asset-row"]')].every(
            r => r.dataset.kind === 'signal' && r.textContent.includes('Kim Mã'))""")
    await rows.first.locator("button").click()
    await page.wait_for_selector('[data-testid="detail"][data-kind="signal"]')
    await page.wait_for_selector('[data-testid="asset-history"][data-kind="signal"]')
    await page.wait_for_selector('[data-testid="signal-measures"]', timeout=30_000)


async def test_a_replay_scrubbed_to_a_time_shows_the_state_at_that_time(
    server: Server, browser: Browser
) -> None:
    planner = await sign_in(browser, server.base_url, "planner")
    await planner.wait_for_selector('[data-testid="tile-signals"][data-state="live"]',
                                    timeout=30_000)
    flash = planner.get_by_test_id("signals-flash")
    # Wait for a moment before the fault that history knows about (signals restate on start).
    await planner.wait_for_function(
        """() => document.querySelector('[data-testid="signals-normal-share"]')
            .dataset.value !== ''""", timeout=30_000)
    calm = int(await flash.get_attribute("data-value") or 0)
    before = datetime.now(UTC)
    _flash(server, "sig-giang-vo-cat-linh")
    await planner.wait_for_function(
        """(calm) => Number(document.querySelector('[data-testid="signals-flash"]')
            .dataset.value) > calm""", arg=calm, timeout=30_000)
    flashing = int(await flash.get_attribute("data-value") or 0)

    await planner.get_by_test_id("nav-planner").click()
    await planner.get_by_test_id("replay-load").click()
    position = planner.get_by_test_id("replay-position")
    await planner.wait_for_function(
        """() => document.querySelector('[data-testid="replay-position"]').dataset.value""")

    async def go_to(moment: str) -> None:
        field = planner.get_by_test_id("replay-at")
        await field.fill(moment)
        await field.press("Enter")
        await planner.wait_for_selector('[data-testid="replay"][data-state="ready"]',
                                        timeout=30_000)

    # Scrub back to just before the fault: the flash is not there.
    await go_to(_city_input(before))
    assert (await position.get_attribute("data-value") or "")[:16] <= before.isoformat()[:16]
    await planner.wait_for_function(
        """(calm) => Number(document.querySelector('[data-testid="signals-flash"]')
            .dataset.value) === calm""", arg=calm, timeout=30_000)
    # And forward to now: the flash is back.
    await go_to(_city_input(datetime.now(UTC)))
    await planner.wait_for_function(
        """(n) => Number(document.querySelector('[data-testid="signals-flash"]')
            .dataset.value) >= n""", arg=flashing, timeout=30_000)


def _city_input(moment: datetime) -> str:
    """A moment as typed into the dashboard's time fields: Hanoi wall time."""
    return moment.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m-%dT%H:%M")
