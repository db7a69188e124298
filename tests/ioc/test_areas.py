"""Area figures on any layer equal what the stored rows say, district by district."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd

from feeds.parking import ParkingFeed
from feeds.queues.feed import QueuesFeed
from feeds.queues.measures import tickets
from feeds.queues.points import load_service_points
from feeds.queues.simulator import QueueSimulator
from feeds.runner import FeedRunner
from feeds.signals.feed import SignalsFeed, locations_from_features
from feeds.signals.simulator import SignalSimulator
from feeds.simulator import ParkingSimulator
from geo import AreaIndex, load_layer
from ioc.areas import area_figures
from ioc.kpis import area_kpis, health
from ioc.storage.history import queue_history
from tests.clock import TEST_CLOCK
from tests.conftest import shared_file
from tests.ioc.conftest import PACK, Ingest

MONDAY_10_HANOI = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


async def _fill(ingest: Ingest) -> None:
    clock = [MONDAY_10_HANOI]
    parking = ParkingSimulator(PACK.asset_features("parking"), now=lambda: clock[0])
    signals_features = PACK.asset_features("signals")
    signals = SignalSimulator(signals_features, timezone=PACK.timezone, now=lambda: clock[0])
    points = load_service_points(PACK.asset_features("service_points"))
    feeds = [ParkingFeed(parking),
             SignalsFeed(signals, zone=PACK.timezone,
                         locations=locations_from_features(signals_features)),
             QueuesFeed(QueueSimulator(points.values(), now=lambda: clock[0]), points)]
    for _ in range(3):
        clock[0] += timedelta(minutes=1)
        for feed in feeds:
            await FeedRunner(feed, ingest.bus, ingest.index.assign, clock=TEST_CLOCK).run_once()
    await ingest.store(["parking", "signals", "queues"])


async def test_district_figures_equal_the_stored_rows_grouped_by_district(
    ingest: Ingest,
) -> None:
    await _fill(ingest)
    async with ingest.pool.connection() as conn:
        figures = await area_figures(conn, ingest.index, MONDAY_10_HANOI)
        parking = {d: (c, o) for d, c, o in await (await conn.execute(
            "SELECT district, sum(capacity), sum(occupied) FROM parking_latest"
            " GROUP BY district")).fetchall()}
        signals = {d: (n, ok) for d, n, ok in await (await conn.execute(
            "SELECT district, count(*), count(*) FILTER (WHERE state = 'normal')"
            " FROM signal_status_latest GROUP BY district")).fetchall()}
        queues = dict(await (await conn.execute(
            "SELECT district, sum(waiting_total) FROM queue_latest GROUP BY district"
        )).fetchall())
    assert len(figures) == 30
    for code, f in figures.items():
        assert (f.parking_capacity, f.parking_occupied) == parking.get(code, (0, 0))
        assert (f.signals, f.signals_normal) == signals.get(code, (0, 0))
        assert f.waiting == queues.get(code, 0)
    hoan_kiem = figures["002"].to_json()
    assert hoan_kiem["parking"]["occupancy"] == round(
        parking["002"][1] / parking["002"][0], 4)
    assert hoan_kiem["signals"]["normal_share"] == round(signals["002"][1] / signals["002"][0], 4)


async def test_the_wards_layer_accounts_for_every_car_park_place_too(
    ingest: Ingest, tmp_path: Path
) -> None:
    frame = gpd.read_file(shared_file("hanoi/wards-2025-osm.geojson"))
    frame["code"] = [f"W{i:03d}" for i in range(len(frame))]
    frame.to_file(tmp_path / "wards.geojson", driver="GeoJSON")
    wards = load_layer(tmp_path / "wards.geojson", "wards-2025", name_en_field="name:en")
    assert len(wards.units) == 126
    await _fill(ingest)
    async with ingest.pool.connection() as conn:
        by_ward = await area_figures(conn, AreaIndex(wards), MONDAY_10_HANOI)
        total = await (await conn.execute("SELECT sum(capacity) FROM parking_latest")).fetchone()
    assert total is not None
    # Every car park of the pack lies inside the city, so every place lands in some ward.
    assert sum(f.parking_capacity for f in by_ward.values()) == total[0]


async def test_queue_kpis_equal_the_desk_measures_computed_from_the_same_events(
    ingest: Ingest,
) -> None:
    await _fill(ingest)
    at = MONDAY_10_HANOI + timedelta(minutes=3)
    async with ingest.pool.connection() as conn:
        kpis = await area_kpis(conn, PACK, "districts", ingest.index, at)
        events, _ = await queue_history(conn, "mc-001-ba-dinh", at - timedelta(hours=3), at)
    lives = tickets(events)
    called = [t for t in lives if t.called is not None and t.called >= at - timedelta(hours=1)]
    waits = [t.wait for t in called if t.wait is not None]
    target = next(f["properties"]["target_wait_min"]
                  for f in PACK.asset_features("service_points")
                  if f["properties"]["id"] == "mc-001-ba-dinh")
    ba_dinh = kpis["001"]
    assert waits, "Ba Đình's desk called tickets in the hour"
    assert ba_dinh["queue_service_level"] == round(
        sum(w <= target for w in waits) / len(waits), 4)
    assert ba_dinh["parking_occupancy"] is not None
    assert 0 <= ba_dinh["health"] <= 1


def test_health_weights_the_available_scores_only() -> None:
    targets = {"signals_normal_share": 0.95, "parking_occupancy": 0.85,
               "queue_service_level": 0.8, "brt_cv": 0.3, "online_share": 0.5}
    weights = {"signals": 0.3, "parking": 0.2, "queues": 0.2, "brt": 0.2, "online": 0.1}
    perfect = {"signals_normal_share": 1.0, "parking_occupancy": 0.5}
    assert health(perfect, targets, weights) == 1.0
    # Full car parks score 0 (weight 0.2) and half the signals 0.5/0.95 (weight 0.3).
    strained = {"signals_normal_share": 0.5, "parking_occupancy": 1.0}
    assert health(strained, targets, weights) == round((0.3 * 0.5 / 0.95) / 0.5, 4)
    assert health({}, targets, weights) is None
