"""Signal events go through the bus into storage; a fault shows as a unit status change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from feeds.runner import FeedRunner
from feeds.signals.faults import Fault
from feeds.signals.feed import SignalsFeed, locations_from_features
from feeds.signals.simulator import SignalSimulator
from geo import AreaIndex, load_pack
from ioc.bus import RedisBus
from ioc.settings import PROJECT_ROOT
from ioc.storage.pool import open_pool
from ioc.storage.signals import district_signals, signal_units
from ioc.writer import Writer
from tests.conftest import shared_file

PACK = load_pack(PROJECT_ROOT / "packs" / "hanoi")
MONDAY_8_HANOI = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture
async def parts(db: str, redis_url: str, redis_prefix: str
                ) -> AsyncIterator[tuple[RedisBus, AsyncConnectionPool, AreaIndex]]:
    redis = Redis.from_url(redis_url)
    pool = await open_pool(db)
    yield RedisBus(redis, redis_prefix), pool, AreaIndex(PACK.layer(PACK.default_layer))
    await pool.close()
    await redis.aclose()


async def _store(bus: RedisBus, pool: AsyncConnectionPool) -> Writer:
    writer = Writer(pool, bus, ["signals"], block_ms=100)
    await writer.start()
    idle = 0
    while idle < 2:
        idle = 0 if await writer.step() else idle + 1
    return writer


async def test_a_signal_put_into_flash_is_reported_flash_and_the_rest_normal(
    parts: tuple[RedisBus, AsyncConnectionPool, AreaIndex],
) -> None:
    bus, pool, index = parts
    features = PACK.asset_features("signals")
    clock = [MONDAY_8_HANOI]
    simulator = SignalSimulator(features, timezone=PACK.timezone, now=lambda: clock[0])
    feed = SignalsFeed(simulator, zone=PACK.timezone, locations=locations_from_features(features))
    runner = FeedRunner(feed, bus, index.assign)
    victim = features[0]["properties"]["id"]
    simulator.inject(Fault(victim, "flash", MONDAY_8_HANOI + timedelta(minutes=2),
                           MONDAY_8_HANOI + timedelta(hours=1)))
    for _ in range(4):
        clock[0] += timedelta(minutes=1)
        await runner.run_once()
    writer = await _store(bus, pool)
    assert writer.stats.dead == 0 and runner.health.rejected == 0
    assert writer.stats.stored > 10_000  # four minutes of 41 intersections at the morning peak
    async with pool.connection() as conn:
        units = {u["id"]: u for u in await signal_units(conn)}
        districts = await district_signals(conn)
    assert len(units) == len(features)
    assert units[victim]["state"] == "flash"
    assert units[victim]["reason"]
    assert sum(u["state"] == "normal" for u in units.values()) == len(features) - 1
    assert sum(d["signals"] for d in districts.values()) == len(features)


async def test_the_real_atspm_sample_is_stored_once_even_when_imported_twice(
    parts: tuple[RedisBus, AsyncConnectionPool, AreaIndex],
) -> None:
    bus, pool, index = parts
    payload = shared_file("signals/atspm-sample/sample_raw_data.csv").read_bytes()

    async def source() -> bytes:
        return payload

    # The sample's signal is not in the Hanoi pack: no locations, so nothing is geo-tagged.
    runner = FeedRunner(SignalsFeed(source, fmt="csv"), bus, index.assign)
    await runner.run_once()
    await runner.run_once()
    writer = await _store(bus, pool)
    async with pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT count(*), min(time), max(time) FROM signal_events")).fetchone()
    assert row is not None
    count, first, last = row
    # 37,152 rows, of which 762 carry vendor codes above 255 and are rejected with a reason.
    assert count == 36_390
    assert writer.stats.duplicates == 36_390
    assert runner.health.rejected == 2 * 762
    assert first.astimezone(UTC) == datetime(2024, 4, 15, 5, 0, tzinfo=UTC)
    assert last - first <= timedelta(hours=2)
