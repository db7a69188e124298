"""Measures over HTTP, computed from stored history of a simulated Monday morning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feeds.queues.feed import QueuesFeed
from feeds.queues.points import load_service_points
from feeds.queues.simulator import QueueSimulator
from feeds.runner import FeedRunner
from feeds.signals.feed import SignalsFeed, locations_from_features
from feeds.signals.simulator import SignalSimulator
from feeds.transit.feed import simulated_brt_feeds
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.simulator import BrtSimulator
from tests.clock import TEST_CLOCK
from tests.ioc.conftest import PACK, Ingest
from tests.ioc.server import Server

MONDAY_7_HANOI = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
SIGNAL = "sig-kim-ma-giang-van-minh"


def _get(server: Server, path: str, start: datetime, end: datetime) -> dict:  # type: ignore[type-arg]
    response = server.get(path, params={"start": start.isoformat(), "end": end.isoformat()},
                          timeout=30)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_signal_measures_come_in_15_minute_bins_per_phase(
    ingest: Ingest, server: Server
) -> None:
    features = PACK.asset_features("signals")
    clock = [MONDAY_7_HANOI]
    simulator = SignalSimulator(features, timezone=PACK.timezone, now=lambda: clock[0])
    feed = SignalsFeed(simulator, zone=PACK.timezone, locations=locations_from_features(features))
    runner = FeedRunner(feed, ingest.bus, ingest.index.assign, clock=TEST_CLOCK)
    for _ in range(30):
        clock[0] += timedelta(minutes=1)
        await runner.run_once()
    await ingest.store(["signals"])
    body = _get(server, f"/api/signals/{SIGNAL}/measures", MONDAY_7_HANOI, clock[0])
    assert body["events"] > 1000
    assert body["unavailable"] == {}
    starts = {b["bin_start"] for b in body["bins"]}
    assert len(starts) == 2  # 07:00 and 07:15
    assert all(datetime.fromisoformat(s).minute in (0, 15) for s in starts)
    phases = {b["phase"] for b in body["bins"]}
    assert {2, 6} <= phases
    through = [b for b in body["bins"] if b["phase"] in (2, 6)]
    assert all(b["volume"] > 0 for b in through)
    assert all(0 <= b["aog_share"] <= 1 for b in through if b["aog_share"] is not None)
    missing = server.get("/api/signals/nope/measures")
    assert missing.status_code == 404


async def test_a_desk_reports_waits_service_level_and_its_erlang_c_outlook(
    ingest: Ingest, server: Server
) -> None:
    points = load_service_points(PACK.asset_features("service_points"))
    ten = MONDAY_7_HANOI + timedelta(hours=3)
    simulator = QueueSimulator(points.values(), now=lambda: ten)
    await FeedRunner(QueuesFeed(simulator, points), ingest.bus, ingest.index.assign,
                     clock=TEST_CLOCK).run_once()
    await ingest.store(["queues"])
    body = _get(server, "/api/queues/mc-001-ba-dinh/measures", ten - timedelta(hours=1), ten)
    assert body["throughput"]["arrived"] > 10
    assert body["unavailable"] == {}
    assert 0 <= body["wait_min"]["p50"] <= body["wait_min"]["p90"] <= body["wait_min"]["max"]
    assert 0 <= body["service_level"]["overall"] <= 1
    assert body["counters_open"] > 0
    assert body["erlang_c"]["servers"] == body["counters_open"]


async def test_brt_headways_at_ten_match_the_ten_minute_timetable(
    ingest: Ingest, server: Server
) -> None:
    static = load_gtfs(PACK.root / "brt")
    clock = [MONDAY_7_HANOI + timedelta(hours=3)]
    simulator = BrtSimulator(static, now=lambda: clock[0])
    vehicles, trips = simulated_brt_feeds(static, simulator)
    runners = [FeedRunner(f, ingest.bus, ingest.index.assign,
                          clock=TEST_CLOCK) for f in (vehicles, trips)]
    start = clock[0]
    for _ in range(80):  # 40 minutes, a report every 30 s
        clock[0] += timedelta(seconds=30)
        simulator.advance_to(clock[0])
        for runner in runners:
            await runner.run_once()
    await ingest.store(["brt_vehicles", "brt_trips"])
    body = _get(server, "/api/brt/headways", start, clock[0])
    assert body["arrivals"] > 50
    measured = [s for s in body["stops"] if s["headway_count"] >= 2]
    assert measured
    mean = sum(s["mean_s"] for s in measured) / len(measured)
    assert 420 <= mean <= 780  # scheduled every 600 s between 09:00 and 16:30
