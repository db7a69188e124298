"""The wall outlives a server restart: it notices, retries with backoff, and is live again
by itself, with figures that move, without anyone touching it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.clock import clock_env
from tests.conftest import empty_tables
from tests.frontend.conftest import sign_in
from tests.ioc.server import free_port, start, stop

pytestmark = pytest.mark.browser


async def test_the_wall_comes_back_live_after_a_server_restart(
    database_url: str, servers: tuple[str, str], redis_prefix: str, browser: Browser,
    tmp_path: Path,
) -> None:
    env = {"IOC_DATABASE__URL": database_url, "IOC_REDIS__URL": servers[1],
           "IOC_REDIS__PREFIX": redis_prefix, "IOC_PORT": str(free_port())}
    log = tmp_path / "ioc.log"
    server = start(env, log)
    try:
        page = await sign_in(browser, server.base_url, "viewer")
        await page.wait_for_selector('[data-testid="tile-parking"][data-state="live"]',
                                     timeout=30_000)
        # The city's clock carries on from where it was when the server went down.
        resume = server.city_now()
        assert stop(server) == 0
        await page.wait_for_selector('[data-testid="connection"][data-state="reconnecting"]',
                                     timeout=60_000)

        server = start({**env, **clock_env(resume)}, log)
        await page.wait_for_selector('[data-testid="connection"][data-state="live"]',
                                     timeout=60_000)
        # Live again means new figures arrive: the parking stamp moves on.
        stamp = await page.get_by_test_id("parking-updated").inner_text()
        await page.wait_for_function(
            """(before) => document.querySelector('[data-testid="parking-updated"]')
                .textContent !== before""", arg=stamp, timeout=60_000)
        assert await page.get_by_test_id("login").is_hidden()
    finally:
        if server.process.poll() is None:
            stop(server)
        # What the city wrote would otherwise show as days-old data to the next test's wall.
        empty_tables(database_url)
