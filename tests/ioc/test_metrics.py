"""GET /metrics: who may read it, and the figures a scrape carries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import psycopg
import websockets
from fastapi import FastAPI
from redis.asyncio import Redis

from feeds.base import Rejected
from feeds.clock import Clock
from ioc.app import create_app
from ioc.bus import RedisBus
from ioc.settings import Settings
from ioc.writer import Writer
from tests.auth import bearer
from tests.ioc.fault_tools import EPOCH, observations
from tests.ioc.inprocess import app_settings, in_process
from tests.ioc.scrape import Samples, samples, value
from tests.ioc.server import Server, wait_until

TOKEN = "test-only-scrape-token-0123456789"


@asynccontextmanager
async def _pinned_app(settings: Settings, clock: Clock) -> AsyncIterator[
    tuple[FastAPI, httpx.AsyncClient]
]:
    app = create_app(settings, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ioc.test") as client:
            yield app, client


async def _scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics", headers=bearer("admin"))
    assert response.status_code == 200
    return samples(response.text)


async def test_a_scraper_reads_with_its_token_and_people_need_the_admin_role(
    db: str, redis_url: str, redis_prefix: str
) -> None:
    settings = app_settings(db, redis_url, redis_prefix, security={"metrics_token": TOKEN})
    async with in_process(settings) as (_, client):
        scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        assert value(samples(scraped.text), "ioc_dependency_up", dependency="database") == 1
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
        assert wrong.status_code == 401
        for role in ("viewer", "operator", "planner"):
            assert (await client.get("/metrics", headers=bearer(role))).status_code == 403
        assert (await client.get("/metrics", headers=bearer("admin"))).status_code == 200


async def test_a_scrape_counts_each_feeds_records_and_the_bus_backlog(
    db: str, redis_url: str, redis_prefix: str
) -> None:
    now = EPOCH + timedelta(minutes=10)
    redis = Redis.from_url(redis_url)
    bus = RedisBus(redis, redis_prefix)
    try:
        async with _pinned_app(app_settings(db, redis_url, redis_prefix),
                               Clock.pinned(now)) as (app, client):
            await bus.ensure_groups(["parking"])
            inside = observations(0, 2)
            await bus.publish("parking", inside[:1])
            await bus.publish("parking", inside[1:])
            await bus.publish("parking", [o.with_district(None) for o in observations(2, 1)])
            await bus.reject("parking", [
                Rejected("id must be a non-empty string", "{}"),
                Rejected("capacity must be a non-negative integer, got -3", "{}")])
            # One of the three entries read and not yet acknowledged, as by a writer mid-batch.
            await bus.read("metrics-test", [bus.stream("parking")], 1, 0, pending=False)
            before = await _scrape(client)

            def parking(name: str, found: Samples = before, **labels: str) -> float | None:
                return value(found, name, feed="parking", **labels)

            assert parking("ioc_feed_accepted_total") == 3
            assert parking("ioc_feed_outside_area_total") == 1
            assert parking("ioc_feed_rejected_total", reason="id must be a non-empty string") == 1
            assert parking("ioc_feed_rejected_total",
                           reason="capacity must be a non-negative integer, got …") == 1
            assert parking("ioc_feed_stored_total") == 0
            assert parking("ioc_feed_lag_seconds") is None  # nothing stored yet
            group = {"stream": "parking", "group": "writers"}
            assert value(before, "ioc_bus_stream_entries", stream="parking") == 3
            assert value(before, "ioc_bus_pending_entries", **group) == 1
            assert value(before, "ioc_bus_lag_entries", **group) == 2
            assert value(before, "ioc_bus_lag_entries", stream="dead", group="writers") == 1
            commits = value(before, "ioc_writer_commit_seconds_count") or 0

            writer = Writer(app.state.ioc.pool, bus, ["parking"], consumer="metrics-test",
                            block_ms=100)
            await writer.start()
            idle = 0
            while idle < 2:
                idle = 0 if await writer.step() else idle + 1
            after = await _scrape(client)
            assert parking("ioc_feed_stored_total", after) == 3
            # The newest reading is from EPOCH + 2 s; the city's clock says EPOCH + 10 min.
            assert parking("ioc_feed_lag_seconds", after) == 598
            assert value(after, "ioc_bus_pending_entries", **group) == 0
            assert value(after, "ioc_bus_lag_entries", **group) == 0
            assert (value(after, "ioc_writer_commit_seconds_count") or 0) > commits
    finally:
        await redis.aclose()


async def test_open_situations_are_counted_by_severity(
    db: str, redis_url: str, redis_prefix: str
) -> None:
    async with in_process(app_settings(db, redis_url, redis_prefix)) as (_, client):
        async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
            for severity, status in [("major", "open"), ("major", "acknowledged"),
                                     ("minor", "in_progress"), ("critical", "closed"),
                                     ("critical", "resolved")]:
                await conn.execute(
                    "INSERT INTO situations (type, severity, base_severity, status, title,"
                    " title_en, rule_id) VALUES ('signal_flash', %s, %s, %s, 'x', 'x', 'r')",
                    (severity, severity, status))
        found = await _scrape(client)
    counts = {s: value(found, "ioc_situations_open", severity=s)
              for s in ("info", "minor", "major", "critical")}
    assert counts == {"info": 0, "minor": 1, "major": 2, "critical": 0}


async def test_a_running_system_serves_every_figure(server: Server) -> None:
    def scrape() -> Samples:
        response = server.get("/metrics", role="admin")
        assert response.status_code == 200
        return samples(response.text)

    def stored_and_committed() -> Samples | None:
        found = scrape()
        ready = ((value(found, "ioc_feed_stored_total", feed="parking") or 0) > 0
                 and (value(found, "ioc_writer_commit_seconds_count") or 0) > 0)
        return found if ready else None

    found = wait_until(stored_and_committed, 60)
    assert (value(found, "ioc_feed_accepted_total", feed="parking") or 0) > 0
    assert value(found, "ioc_feed_lag_seconds", feed="parking") is not None
    assert value(found, "ioc_bus_pending_entries", stream="parking", group="writers") is not None
    assert value(found, "ioc_dependency_up", dependency="redis") == 1
    assert {labels for name, labels in found if name == "ioc_situations_open"} == {
        frozenset({("severity", s)}) for s in ("info", "minor", "major", "critical")}
    running = {dict(labels)["task"] for (name, labels), up in found.items()
               if name == "ioc_task_running" and up == 1}
    assert {"live-hub", "live-aggregates", "live-watchdog", "writer", "feed-parking"} <= running
    async with websockets.connect(server.ws_url) as ws:
        await ws.recv()  # hello

        def watched() -> Samples | None:
            now = scrape()
            return now if (value(now, "ioc_live_frames_total") or 0) > 0 else None

        live = wait_until(watched)
        assert (value(live, "ioc_live_clients") or 0) >= 1
