"""The operator and planner views in headless Chromium, driven as people would: two
operators share one situation queue, and a planner scrubs a replay back in time."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
from playwright.async_api import Browser, Page, WebSocketRoute

from tests.auth import bearer
from tests.frontend.conftest import VIEWPORT, sign_in, sign_in_on
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
    before = server.city_now()
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
    assert (await position.get_attribute("data-value") or "")[:19] <= before.isoformat()[:19]
    await planner.wait_for_function(
        """(calm) => Number(document.querySelector('[data-testid="signals-flash"]')
            .dataset.value) === calm""", arg=calm, timeout=30_000)
    # And forward to now: the flash is back.
    await go_to(_city_input(server.city_now()))
    await planner.wait_for_function(
        """(n) => Number(document.querySelector('[data-testid="signals-flash"]')
            .dataset.value) >= n""", arg=flashing, timeout=30_000)


def _city_input(moment: datetime) -> str:
    """A moment as typed into the replay's time field: Hanoi wall time, to the second (the
    fault and "now" may fall within the same minute)."""
    return moment.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m-%dT%H:%M:%S")


def _situation(ident: int, status: str, updated: datetime, title: str) -> dict[str, object]:
    return {"id": ident, "type": "signal_fault", "severity": "critical", "status": status,
            "title": title, "rule_id": "signal-dark", "asset_kind": "signal",
            "asset_id": "sig-kim-ma-giang-van-minh", "district": "001", "lon": 105.82,
            "lat": 21.03, "opened_at": "2026-01-01T08:00:00+07:00",
            "updated_at": updated.isoformat(), "escalated": False, "acknowledged_by": None,
            "assignee": None, "condition_cleared": False, "alert_count": 1}


async def test_a_coalesced_situations_delta_updates_the_operator_queue(
    server: Server, browser: Browser
) -> None:
    """Under overload the server sends a client that fell behind one coalesced delta with
    the latest state of each situation; the queue applies every situation in it."""
    context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = await context.new_page()
    pages: list[WebSocketRoute] = []
    last_seq = [-1]

    async def relay(ws: WebSocketRoute) -> None:
        # The page talks to the real server; frames from it pass through unchanged.
        upstream = ws.connect_to_server()

        def forward(message: str | bytes) -> None:
            if isinstance(message, str):
                frame = orjson.loads(message)
                if frame.get("stream") == "situations" and isinstance(frame.get("seq"), int):
                    last_seq[0] = max(last_seq[0], frame["seq"])
            ws.send(message)

        upstream.on_message(forward)
        pages.append(ws)

    await page.route_web_socket(re.compile(r"/ws/live"), relay)
    await sign_in_on(page, server.base_url, "operator")
    await page.get_by_test_id("nav-operator").click()
    await page.wait_for_selector('[data-testid="queue"]')
    while last_seq[0] < 0:  # the situations snapshot has reached the page
        await asyncio.sleep(0.1)

    def coalesced(*situations: dict[str, object]) -> None:
        last_seq[0] += 1
        pages[-1].send(orjson.dumps({
            "type": "delta", "sub": "default", "stream": "situations", "seq": last_seq[0],
            "from_seq": last_seq[0], "coalesced": True, "situations": list(situations)}).decode())

    now = server.city_now()
    coalesced(_situation(990001, "open", now, "Tủ điều khiển A tắt đèn"),
              _situation(990002, "open", now, "Tủ điều khiển B tắt đèn"))
    for ident in (990001, 990002):
        await page.locator(f'{OPEN_ROW}[data-id="{ident}"]').wait_for(timeout=15_000)

    later = server.city_now()
    coalesced(_situation(990001, "closed", later, "Tủ điều khiển A tắt đèn"),
              _situation(990002, "acknowledged", later, "Tủ điều khiển B tắt đèn"))
    await page.locator(f'{OPEN_ROW}[data-id="990001"]').wait_for(state="detached",
                                                                  timeout=15_000)
    await page.locator(f'{OPEN_ROW}[data-id="990002"]').wait_for(state="detached",
                                                                  timeout=15_000)
    await page.get_by_test_id("queue-tab-handling").click()
    handled = page.locator('[data-testid="situation-row"][data-id="990002"]')
    await handled.wait_for(timeout=10_000)
    assert await handled.get_attribute("data-status") == "acknowledged"
    # The closed one has left the queue altogether, not moved to another tab.
    await page.get_by_test_id("queue-tab-resolved").click()
    await page.wait_for_selector('[data-testid="situation-list"][data-tab="resolved"]',
                                 state="attached")
    assert await page.locator('[data-testid="situation-row"][data-id="990001"]').count() == 0
    await context.close()
