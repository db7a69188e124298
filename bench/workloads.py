"""What each feed's benchmark ingests: simulator payloads, the feed that parses them, and the
rows a raw binary COPY writes for comparison."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from feeds.base import Feed
from feeds.parking import ParkingFeed, parse_payload
from feeds.queues.feed import QueuesFeed
from feeds.queues.model import TicketEvent
from feeds.queues.parse import parse_payload as parse_queues
from feeds.queues.points import load_service_points
from feeds.queues.simulator import QueueSimulator
from feeds.signals.events import parse_jsonl
from feeds.signals.feed import SignalsFeed, locations_from_features
from feeds.signals.simulator import SignalSimulator
from feeds.simulator import ParkingSimulator
from feeds.transit.feed import BrtVehicleFeed
from feeds.transit.gtfs_realtime import parse_feed
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.simulator import BrtSimulator
from geo import CityPack

Source = Callable[[], Awaitable[bytes]]
# Monday 10:00 in Hanoi: car parks filling, signals in the morning peak's tail.
START = datetime(2026, 11, 23, 3, tzinfo=UTC)


@dataclass(frozen=True)
class Workload:
    """One feed's benchmark."""

    feed: str
    payloads: Callable[[CityPack, int], list[bytes]]
    build: Callable[[Source, CityPack], Feed]
    history: str
    raw_columns: tuple[str, ...]
    raw_types: tuple[str, ...]
    raw_rows: Callable[[list[bytes], CityPack], list[tuple[Any, ...]]]
    default_size: int = 500_000


def _parking_sites(pack: CityPack, count: int) -> list[dict[str, Any]]:
    """`count` car parks: the pack's own, repeated with small offsets to city scale."""
    rng = random.Random(7)
    base = pack.asset_features("parking")
    sites = []
    for i in range(count):
        feature = base[i % len(base)]
        lon, lat = feature["geometry"]["coordinates"][:2]
        props = {**feature["properties"], "id": f"{feature['properties']['id']}-{i}",
                 "opening_hours": "Mo-Su 00:00-24:00"}
        sites.append({"type": "Feature", "properties": props, "geometry": {
            "type": "Point",
            "coordinates": [lon + rng.uniform(-0.01, 0.01), lat + rng.uniform(-0.01, 0.01)],
        }})
    return sites


def _parking_payloads(pack: CityPack, size: int) -> list[bytes]:
    """2,500 car parks (5,000 rows a tick), ticks enough for `size` rows."""
    clock = [START]
    sim = ParkingSimulator(_parking_sites(pack, 2500), now=lambda: clock[0])
    payloads = []
    for tick in range(max(1, size // 5000)):
        clock[0] = START + timedelta(seconds=10 * tick)
        payloads.append(sim.snapshot_bytes())
    return payloads


def _parking_raw(payloads: list[bytes], pack: CityPack) -> list[tuple[Any, ...]]:
    return [
        (o.observed_at, o.site_id, o.vehicle_type, "000", o.capacity, o.occupied, o.status)
        for payload in payloads for o in parse_payload(payload).observations
    ]


def _signal_payloads(pack: CityPack, size: int) -> list[bytes]:
    """The pack's intersections logging at high resolution, a minute a payload."""
    clock = [START]
    sim = SignalSimulator(pack.asset_features("signals"), timezone=pack.timezone,
                          now=lambda: clock[0])
    payloads: list[bytes] = []
    total = 0
    while total < size:
        clock[0] += timedelta(minutes=1)
        payload = sim.payload()
        payloads.append(payload)
        total += payload.count(b"\n")
    return payloads


def _signals_feed(source: Source, pack: CityPack) -> Feed:
    features = pack.asset_features("signals")
    return SignalsFeed(source, zone=pack.timezone, locations=locations_from_features(features))


def _signal_raw(payloads: list[bytes], pack: CityPack) -> list[tuple[Any, ...]]:
    return [
        (e.time, e.signal_id, e.event_code, e.parameter, "000")
        for payload in payloads for e in parse_jsonl(payload).observations
    ]


def _queue_payloads(pack: CityPack, size: int) -> list[bytes]:
    """Every one-stop shop of the pack, day after day of tickets, a working day a payload."""
    points = load_service_points(pack.asset_features("service_points"))
    clock = [START]
    sim = QueueSimulator(points.values(), timezone=pack.timezone, now=lambda: clock[0])
    payloads: list[bytes] = []
    total = 0
    while total < size:
        clock[0] += timedelta(hours=12)
        payload = sim.batch_bytes()
        payloads.append(payload)
        total += payload.count(b"\n")
    return payloads


def _queues_feed(source: Source, pack: CityPack) -> Feed:
    return QueuesFeed(source, load_service_points(pack.asset_features("service_points")))


def _queue_raw(payloads: list[bytes], pack: CityPack) -> list[tuple[Any, ...]]:
    points = load_service_points(pack.asset_features("service_points"))
    return [
        (o.at, o.point_id, o.ticket_id, o.event, o.service_type, o.counter_id, "000")
        for payload in payloads for o in parse_queues(payload, points).observations
        if isinstance(o, TicketEvent)
    ]


def _brt_payloads(pack: CityPack, size: int) -> list[bytes]:
    """GTFS-Realtime vehicle positions of line 01, a message every 2 s of the busy day."""
    if pack.gtfs_path is None:
        raise ValueError(f"pack {pack.name!r} has no BRT timetable")
    clock = [START]
    sim = BrtSimulator(load_gtfs(pack.gtfs_path), now=lambda: clock[0])
    payloads: list[bytes] = []
    total = 0
    while total < size:
        clock[0] += timedelta(seconds=2)
        sim.advance_to(clock[0])
        payload = sim.vehicle_positions()
        payloads.append(payload)
        total += len(parse_feed(payload).vehicles)
    return payloads


def _brt_raw(payloads: list[bytes], pack: CityPack) -> list[tuple[Any, ...]]:
    return [
        (v.observed_at, v.vehicle_id, v.trip_id, v.route_id, v.direction_id, v.stop_id,
         v.current_stop_sequence, v.current_status, v.occupancy_status, v.lon, v.lat, "000")
        for payload in payloads for v in parse_feed(payload).vehicles
    ]


WORKLOADS = {
    "parking": Workload(
        "parking", _parking_payloads, lambda source, pack: ParkingFeed(source),
        "parking_occupancy",
        ("time", "site_id", "vehicle_type", "district", "capacity", "occupied", "status"),
        ("timestamptz", "text", "text", "text", "int4", "int4", "text"), _parking_raw,
    ),
    "signals": Workload(
        "signals", _signal_payloads, _signals_feed, "signal_events",
        ("time", "signal_id", "event_code", "parameter", "district"),
        ("timestamptz", "text", "int2", "int4", "text"), _signal_raw,
    ),
    "queues": Workload(
        "queues", _queue_payloads, _queues_feed, "queue_ticket_events",
        ("time", "point_id", "ticket_id", "event", "service_type", "counter_id", "district"),
        ("timestamptz", "text", "text", "text", "text", "text", "text"), _queue_raw, 300_000,
    ),
    "brt_vehicles": Workload(
        "brt_vehicles", _brt_payloads, lambda source, pack: BrtVehicleFeed(source),
        "brt_vehicle_positions",
        ("time", "vehicle_id", "trip_id", "route_id", "direction_id", "stop_id",
         "stop_sequence", "status", "occupancy", "lon", "lat", "district"),
        ("timestamptz", "text", "text", "text", "int2", "text", "int4", "text", "text",
         "float8", "float8", "text"), _brt_raw, 100_000,
    ),
}
