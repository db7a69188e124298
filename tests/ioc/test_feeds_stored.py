"""Queues and BRT go from their simulators through the bus into storage, by district."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from feeds.queues.feed import QueuesFeed
from feeds.queues.points import load_service_points
from feeds.queues.simulator import QueueSimulator
from feeds.registry import build_feed
from feeds.runner import FeedRunner
from feeds.transit.feed import simulated_brt_feeds
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.simulator import BrtSimulator
from ioc.storage.brt import brt_vehicles
from ioc.storage.queues import district_queues
from tests.clock import TEST_CLOCK
from tests.feeds.samples import samples
from tests.ioc.conftest import PACK, Ingest

MONDAY_10_HANOI = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


async def test_a_monday_morning_of_queues_is_stored_and_rolled_up_by_district(
    ingest: Ingest,
) -> None:
    bus, pool, index = ingest.bus, ingest.pool, ingest.index
    points = load_service_points(PACK.asset_features("service_points"))
    simulator = QueueSimulator(points.values(), now=lambda: MONDAY_10_HANOI)
    runner = FeedRunner(QueuesFeed(simulator, points), bus, index.assign, clock=TEST_CLOCK)
    sent = await runner.run_once()
    writer = await ingest.store(["queues"])
    assert writer.stats.dead == 0 and runner.health.rejected == 0
    events = await ingest.count("queue_ticket_events")
    snapshots = await ingest.count("queue_counter_snapshots")
    assert events > 1000 and events + snapshots == sent
    assert await ingest.count("queue_latest") == len(points)
    async with pool.connection() as conn:
        by_district = await district_queues(conn)
    # Every district's desk sits at its administrative centre, so all 30 report.
    assert len(by_district) == 30
    assert all(d["counters_open"] > 0 for d in by_district.values())


async def test_simulated_brt_buses_and_stop_events_are_stored_with_districts(
    ingest: Ingest,
) -> None:
    bus, pool, index = ingest.bus, ingest.pool, ingest.index
    static = load_gtfs(PACK.root / "brt")
    simulator = BrtSimulator(static, now=lambda: MONDAY_10_HANOI)
    simulator.advance_to(MONDAY_10_HANOI)
    vehicles, trips = simulated_brt_feeds(static, simulator)
    for feed in (vehicles, trips):
        await FeedRunner(feed, bus, index.assign, clock=TEST_CLOCK).run_once()
    writer = await ingest.store(["brt_vehicles", "brt_trips"])
    assert writer.stats.dead == 0
    async with pool.connection() as conn:
        buses = await brt_vehicles(conn, now=MONDAY_10_HANOI)
    # At 10:00 the headway is 10 minutes: about eight buses are out on a 41-minute run.
    assert len(buses) >= 6
    # Line 01 runs from Ba Đình/Đống Đa through Thanh Xuân and Nam Từ Liêm to Hà Đông.
    assert {b["district"] for b in buses} <= {"001", "005", "006", "009", "019", "268", "021"}
    assert await ingest.count("brt_stop_events") > 0
    async with pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT count(*) FROM brt_stop_events WHERE delay_s IS NOT NULL")).fetchone()
    assert row is not None and row[0] > 0


async def test_replaying_the_same_bus_positions_stores_them_once(
    ingest: Ingest,
) -> None:
    bus, index = ingest.bus, ingest.index
    static = load_gtfs(PACK.root / "brt")
    simulator = BrtSimulator(static, now=lambda: MONDAY_10_HANOI)
    simulator.advance_to(MONDAY_10_HANOI)
    vehicles, _ = simulated_brt_feeds(static, simulator)
    runner = FeedRunner(vehicles, bus, index.assign, clock=TEST_CLOCK)
    payload = await vehicles.fetch()
    await runner.ingest(payload)
    await runner.ingest(payload)
    writer = await ingest.store(["brt_vehicles"])
    assert writer.stats.duplicates == writer.stats.stored > 0
    assert await ingest.count("brt_vehicle_positions") == writer.stats.stored


@pytest.mark.parametrize(("feed", "table"), [
    ("parking_sessions", "parking_sessions"),
    ("online_services", "online_applications"),
    ("brt_taps", "brt_taps"),
])
async def test_ledger_feeds_are_stored_once_even_when_sent_twice(
    ingest: Ingest, feed: str, table: str
) -> None:
    good, _ = samples()[feed]
    runner = FeedRunner(build_feed(feed, PACK, TEST_CLOCK, card_key=b"k" * 32), ingest.bus,
                        ingest.index.assign, clock=TEST_CLOCK)
    sent = len((await runner.ingest(good)).observations)
    await runner.ingest(good)
    await ingest.store([feed])
    assert sent > 0
    assert await ingest.count(table) == sent


async def test_online_counts_keep_the_largest_of_the_day(ingest: Ingest) -> None:
    feed = build_feed("online_services", PACK, TEST_CLOCK)
    runner = FeedRunner(feed, ingest.bus, ingest.index.assign, clock=TEST_CLOCK)
    for count in (12, 30, 25):  # a late, smaller report must not lower the day's count
        await runner.ingest(orjson.dumps({"applications": [
            {"district": "002", "day": "2026-11-23", "level": 4, "applications": count}]}))
    await ingest.store(["online_services"])
    async with ingest.pool.connection() as conn:
        rows = await (await conn.execute(
            "SELECT district, level, applications FROM online_applications")).fetchall()
    assert rows == [("002", "end_to_end", 30)]
