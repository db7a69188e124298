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
from feeds.signals.events import parse_jsonl
from feeds.signals.feed import SignalsFeed, locations_from_features
from feeds.signals.simulator import SignalSimulator
from feeds.simulator import ParkingSimulator
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
}
