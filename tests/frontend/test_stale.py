"""Feeds that stop while the API stays up: the wall says so. The car parks' tile shows its
data's age in amber, and the connection badge tells "socket up, data stale" from "live"."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path

import httpx
import orjson
import pytest
import websockets
from playwright.async_api import Browser, Page, expect

from geo import load_pack
from tests.conftest import PROJECT, serving
from tests.frontend.conftest import sign_in
from tests.ioc.server import Server, free_port

pytestmark = pytest.mark.browser

# The city's clock is pinned to a morning and runs four times faster than real time, so the
# 30 s the car parks' feed may lag pass in a few real seconds, whatever the hour of the run.
CLOCK = {"IOC_CLOCK__START": "2026-12-03T10:00:00+07:00", "IOC_CLOCK__SPEED": "2"}
PUSH_KEY = "test-push-key-stale-wall-0123456789"
AMBER = "rgb(255, 176, 0)"


async def _server_time(server: Server) -> datetime:
    """The server's clock, as its live socket's hello states it."""
    async with websockets.connect(server.ws("viewer") + "&subscribe=none") as ws:
        hello = orjson.loads(await ws.recv())
    assert hello["type"] == "hello"
    return datetime.fromisoformat(hello["server_time"])


def _push_every_car_park(server: Server, observed_at: datetime) -> None:
    """One batch of every car park of the pack, half full, stamped `observed_at`, through the
    push API."""
    sites = load_pack(PROJECT / "packs" / "hanoi").asset_features("parking")
    assert sites, "the Hanoi pack has car parks"
    batch = {"sites": [
        {"id": f["properties"]["id"], "lon": f["geometry"]["coordinates"][0],
         "lat": f["geometry"]["coordinates"][1], "observed_at": observed_at.isoformat(),
         "vehicles": {vehicle: {"capacity": capacity, "occupied": capacity // 2}
                      for vehicle, capacity in f["properties"]["capacity"].items()}}
        for f in sites
    ]}
    answer = httpx.post(f"{server.base_url}/api/ingest/parking", content=orjson.dumps(batch),
                        headers={"X-API-Key": PUSH_KEY})
    assert answer.status_code == 202, answer.text
    assert answer.json()["rejected"] == []


async def _amber(page: Page, test_id: str) -> bool:
    colour = await page.get_by_test_id(test_id).evaluate(
        "el => getComputedStyle(el).borderTopColor")
    return bool(colour == AMBER)


async def test_a_tile_whose_feed_stops_shows_its_age_in_amber_and_the_badge_says_stale(
    database_url: str, servers: tuple[str, str], browser: Browser, tmp_path: Path,
) -> None:
    keys = {"stale-wall": {"feed": "parking",
                           "sha256": hashlib.sha256(PUSH_KEY.encode()).hexdigest()}}
    env = {
        **CLOCK,
        "IOC_FEEDS": '["parking"]',
        # The car parks' source is down (nobody listens there): only what the test pushes
        # arrives, once.
        "IOC_SOURCES": orjson.dumps({"parking": {
            "kind": "http", "url": f"http://127.0.0.1:{free_port()}/occupancy"}}).decode(),
        "IOC_PUSH_KEYS": orjson.dumps(keys).decode(),
    }
    with serving(database_url, servers[1], tmp_path, env) as server:
        # Fresh figures before the wall opens: the tile is live, the badge says live, no
        # age is shown.
        _push_every_car_park(server, await _server_time(server))
        page = await sign_in(browser, server.base_url, "viewer")
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        tile = page.get_by_test_id("tile-parking")
        badge = page.get_by_test_id("connection")
        age = page.get_by_test_id("parking-age")
        await expect(tile).to_have_attribute("data-state", "live", timeout=30_000)
        await expect(badge).to_have_attribute("data-state", "live", timeout=10_000)
        await expect(badge).to_contain_text("Trực tuyến")
        await expect(age).to_be_hidden()
        assert not await _amber(page, "tile-parking")

        # Nothing more comes. On the server's clock the figures age past the feed's
        # allowance: the tile turns amber with their age, the badge says the data is stale
        # while the socket stays up.
        await expect(tile).to_have_attribute("data-state", "stale", timeout=90_000)
        await expect(badge).to_have_attribute("data-state", "stale", timeout=10_000)
        await expect(badge).to_contain_text("Dữ liệu cũ")
        await expect(page.get_by_test_id("parking-updated")).to_contain_text(
            "Dữ liệu chưa được cập nhật")
        assert await _amber(page, "tile-parking")
        await expect(age).to_be_visible()
        await expect(age).to_have_text(re.compile(r"^\d+ phút trước$"), timeout=90_000)
        # The age is counted on the server's clock (10:00 and a few minutes), not on the
        # browser's date: minutes, not hours or days.
        allowance_ms = 1_000 * server.get("/api/health").json()["feeds"]["parking"][
            "lag_allowance_s"]
        age_ms = int(await age.get_attribute("data-value") or 0)
        assert allowance_ms < age_ms < 60 * 60_000

        # The same in English.
        await page.get_by_test_id("lang-toggle").click()
        await expect(badge).to_contain_text("Data stale")
        await expect(age).to_have_text(re.compile(r"^\d+ min ago$"))
        await page.get_by_test_id("lang-toggle").click()
        await expect(age).to_have_text(re.compile(r"^\d+ phút trước$"))
        await page.screenshot(path="/tmp/wall-stale.png")
        assert errors == []


async def test_a_feed_idle_as_scheduled_is_shown_idle_not_stale(
    database_url: str, servers: tuple[str, str], browser: Browser, tmp_path: Path,
) -> None:
    # 02:30 in Hanoi: the BRT line runs 05:00-22:00, so its simulated buses report nothing.
    env = {"IOC_CLOCK__START": "2026-12-03T02:30:00+07:00", "IOC_FEEDS": '["brt_vehicles"]'}
    with serving(database_url, servers[1], tmp_path, env) as server:
        page = await sign_in(browser, server.base_url, "viewer")
        tile = page.get_by_test_id("tile-brt")
        await expect(tile).to_have_attribute("data-state", "idle", timeout=30_000)
        await expect(page.get_by_test_id("brt-updated")).to_have_text(
            "Ngoài giờ hoạt động theo lịch")
        await expect(page.get_by_test_id("brt-age")).to_be_hidden()
        assert not await _amber(page, "tile-brt")
        badge = page.get_by_test_id("connection")
        await expect(badge).to_have_attribute("data-state", "live")
        await expect(badge).to_contain_text("Trực tuyến")
        await page.screenshot(path="/tmp/wall-idle.png")
