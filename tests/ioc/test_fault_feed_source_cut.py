"""Fault: a polled feed source goes away and comes back.

While it is away /api/health says the feed is failing; when it is back the feed catches up
with the source's newest reading, and every reading the runner accepted is stored once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import orjson
import psycopg
from redis.asyncio import Redis

from feeds.registry import build_feed
from feeds.runner import FeedRunner
from feeds.sources import http_poll
from geo import AreaIndex
from ioc.bus import RedisBus
from ioc.storage.pool import open_pool
from ioc.writer import Writer
from tests.clock import TEST_CLOCK
from tests.feeds.conftest import Endpoint, endpoint  # noqa: F401 - the fixture
from tests.ioc.conftest import PACK
from tests.ioc.fault_tools import SITE, until
from tests.ioc.faults_report import FaultCounts, record
from tests.ioc.inprocess import app_settings, in_process


def _document(at: datetime) -> bytes:
    site_id, lon, lat, _ = SITE
    return orjson.dumps({"sites": [{"id": site_id, "lon": lon, "lat": lat, "open": True,
                                    "observed_at": at.isoformat(),
                                    "vehicles": {"car": {"capacity": 60, "occupied": 7}}}]})


def _times(url: str) -> set[datetime]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute(
            "SELECT time FROM parking_occupancy WHERE site_id = %s", (SITE[0],))}


async def test_a_cut_source_is_reported_and_the_feed_catches_up(
    db: str, redis_url: str, redis_prefix: str, endpoint: Endpoint  # noqa: F811
) -> None:
    redis = Redis.from_url(redis_url)
    bus = RedisBus(redis, redis_prefix)
    feed = build_feed("parking", PACK, http_poll(endpoint.url), interval_s=0.2)
    runner = FeedRunner(feed, bus, AreaIndex(PACK.layer(PACK.default_layer)).assign,
                        clock=TEST_CLOCK)
    pool = await open_pool(db)
    writer = Writer(pool, bus, ["parking"], block_ms=100)
    stop = asyncio.Event()
    before = TEST_CLOCK.now().replace(microsecond=0)
    endpoint.body = _document(before)
    tasks = [asyncio.create_task(runner.run(stop)), asyncio.create_task(writer.run(stop))]
    try:
        async with in_process(app_settings(db, redis_url, redis_prefix)) as (_, client):
            await until(lambda: before in _times(db))
            endpoint.statuses.extend([503] * 10_000)  # the source goes away
            await until(lambda: runner.health.consecutive_failures >= 3)
            status = (await client.get("/api/health")).json()["feeds"]["parking"]
            assert status["status"] == "failing" and "503" in status["last_error"]
            after = before + timedelta(minutes=1)
            endpoint.body = _document(after)  # the source moved on meanwhile
            endpoint.statuses.clear()  # and comes back
            await until(lambda: after in _times(db))
            await until(lambda: runner.health.consecutive_failures == 0)
            status = (await client.get("/api/health")).json()["feeds"]["parking"]
            assert status["status"] != "failing" and status["last_error"] is None
            stop.set()
            await asyncio.gather(*tasks)
            # What the runner published after the writer's last read is still owed: drain it.
            idle = 0
            while idle < 2:  # two empty reads in a row: the pending pass, then new entries
                idle = 0 if await writer.step() else idle + 1
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await redis.aclose()
        await pool.close()
    stored = len(_times(db))
    accepted = runner.health.accepted
    replays = writer.stats.duplicates
    record(FaultCounts("feed_source_cut", accepted, stored,
                       lost=accepted - stored - replays, duplicated=0,
                       note=f"{replays} polls repeated a reading already stored (kept once)"))
    assert _times(db) == {before, after}
    assert accepted == stored + replays
