"""The explicit registry of feeds: name to a factory that builds the feed for a city pack."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path

from feeds.base import Feed
from feeds.parking import ParkingFeed
from feeds.parking_status import StatusMemory
from feeds.queues.feed import QueuesFeed
from feeds.queues.points import load_service_points
from feeds.queues.simulator import QueueSimulator
from feeds.signals.feed import SignalsFeed, locations_from_features
from feeds.signals.simulator import SignalSimulator
from feeds.simulator import ParkingSimulator
from feeds.transit.feed import BrtTripFeed, BrtVehicleFeed
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.simulator import BrtSimulator
from geo import CityPack


class UnknownFeed(KeyError):
    """A feed name that the registry does not know."""


Source = Callable[[], Awaitable[bytes]]


@functools.cache
def _brt_simulator(gtfs: Path) -> BrtSimulator:
    # Both BRT feeds report the same simulated buses, so they share one simulator.
    return BrtSimulator(load_gtfs(gtfs))


def _brt_static(pack: CityPack) -> Path:
    if pack.gtfs_path is None:
        raise UnknownFeed(f"pack {pack.name!r} has no GTFS feed for its BRT line")
    return pack.gtfs_path


def simulator_for(name: str, pack: CityPack) -> tuple[Source, object]:
    """The simulated source of a feed, and the simulator behind it (for injecting faults)."""
    if name == "parking":
        parking = ParkingSimulator(pack.asset_features("parking"), timezone=pack.timezone)
        return parking, parking
    if name == "queues":
        points = load_service_points(pack.asset_features("service_points"))
        queues = QueueSimulator(points.values(), timezone=pack.timezone)
        return queues, queues
    if name == "signals":
        signals = SignalSimulator(pack.asset_features("signals"), timezone=pack.timezone)
        return signals, signals
    if name in ("brt_vehicles", "brt_trips"):
        brt = _brt_simulator(_brt_static(pack))
        source = brt.fetch_vehicle_positions if name == "brt_vehicles" else brt.fetch_trip_updates
        return source, brt
    raise UnknownFeed(f"unknown feed {name!r}; known: {sorted(FEEDS)}")


def _parking(pack: CityPack, source: Source, interval_s: float | None) -> Feed:
    memory = StatusMemory(pack.asset_features("parking"))
    return ParkingFeed(source, interval_s=interval_s or 2.0, memory=memory)


def _queues(pack: CityPack, source: Source, interval_s: float | None) -> Feed:
    points = load_service_points(pack.asset_features("service_points"))
    return QueuesFeed(source, points, interval_s=interval_s or 5.0)


def _signals(pack: CityPack, source: Source, interval_s: float | None) -> Feed:
    locations = locations_from_features(pack.asset_features("signals"))
    return SignalsFeed(source, interval_s=interval_s or 5.0, zone=pack.timezone,
                       locations=locations)


def _brt_vehicles(pack: CityPack, source: Source, interval_s: float | None) -> Feed:
    return BrtVehicleFeed(source, interval_s=interval_s or 10.0)


def _brt_trips(pack: CityPack, source: Source, interval_s: float | None) -> Feed:
    return BrtTripFeed(source, load_gtfs(_brt_static(pack)), interval_s=interval_s or 30.0)


FEEDS: dict[str, Callable[[CityPack, Source, float | None], Feed]] = {
    "parking": _parking,
    "queues": _queues,
    "signals": _signals,
    "brt_vehicles": _brt_vehicles,
    "brt_trips": _brt_trips,
}


# How stale a feed's newest observation may be before /api/health calls it lagging: queue
# desks report once a simulated minute, car parks every few seconds.
LAG_ALLOWANCE_S: dict[str, float] = {
    "parking": 30.0, "queues": 120.0, "signals": 60.0, "brt_vehicles": 60.0, "brt_trips": 120.0,
}


def build_feed(
    name: str, pack: CityPack, source: Source | None = None, interval_s: float | None = None
) -> Feed:
    """Build the named feed for a city pack, on its simulator unless a source is given."""
    try:
        factory = FEEDS[name]
    except KeyError as err:
        raise UnknownFeed(f"unknown feed {name!r}; known: {sorted(FEEDS)}") from err
    return factory(pack, source or simulator_for(name, pack)[0], interval_s)
