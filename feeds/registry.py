"""The explicit registry of feeds: name to a factory that builds the feed for a city pack."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from feeds.base import Feed, FeedError
from feeds.parking import ParkingFeed
from feeds.parking_sessions import ParkingSessionsFeed, site_positions
from feeds.parking_status import StatusMemory
from feeds.queues.feed import QueuesFeed
from feeds.queues.online_feed import OnlineServicesFeed, OnlineSimulator
from feeds.queues.points import load_service_points
from feeds.queues.simulator import QueueSimulator
from feeds.sessions_simulator import SessionSimulator
from feeds.signals.feed import SignalsFeed, locations_from_features
from feeds.signals.simulator import SignalSimulator
from feeds.simulator import ParkingSimulator
from feeds.transit.feed import BrtTripFeed, BrtVehicleFeed
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.simulator import BrtSimulator
from feeds.transit.taps_feed import TapsFeed, TapSimulator
from geo import CityPack


class UnknownFeed(KeyError):
    """A feed name that the registry does not know."""


Source = Callable[[], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class FeedContext:
    """What a factory builds a feed from."""

    pack: CityPack
    source: Source
    interval_s: float | None
    # Keys the pseudonymous hash of smart-card numbers; a secret of the deployment.
    card_key: bytes


async def _pushed_only() -> bytes:
    raise FeedError("this feed's payloads are pushed to it; it has nothing to fetch")


@functools.cache
def _brt_simulator(gtfs: Path) -> BrtSimulator:
    # Both BRT feeds report the same simulated buses, so they share one simulator.
    return BrtSimulator(load_gtfs(gtfs))


def _gtfs(pack: CityPack) -> Path:
    if pack.gtfs_path is None:
        raise UnknownFeed(f"pack {pack.name!r} has no GTFS feed for its BRT line")
    return pack.gtfs_path


def _districts(pack: CityPack) -> list[str]:
    return pack.layer(pack.default_layer).codes


def simulator_for(name: str, pack: CityPack) -> tuple[Source, object]:
    """The simulated source of a feed, and the simulator behind it (for injecting faults)."""
    simulator: object
    if name == "parking":
        simulator = ParkingSimulator(pack.asset_features("parking"), timezone=pack.timezone)
    elif name == "parking_sessions":
        simulator = SessionSimulator(pack.asset_features("parking"), timezone=pack.timezone)
    elif name == "queues":
        points = load_service_points(pack.asset_features("service_points"))
        simulator = QueueSimulator(points.values(), timezone=pack.timezone)
    elif name == "online_services":
        simulator = OnlineSimulator(_districts(pack), timezone=pack.timezone)
    elif name == "signals":
        simulator = SignalSimulator(pack.asset_features("signals"), timezone=pack.timezone)
    elif name == "brt_taps":
        simulator = TapSimulator(load_gtfs(_gtfs(pack)))
    elif name in ("brt_vehicles", "brt_trips"):
        brt = _brt_simulator(_gtfs(pack))
        return (brt.fetch_vehicle_positions if name == "brt_vehicles"
                else brt.fetch_trip_updates), brt
    else:
        raise UnknownFeed(f"unknown feed {name!r}; known: {sorted(FEEDS)}")
    return simulator, simulator


def _parking(c: FeedContext) -> Feed:
    memory = StatusMemory(c.pack.asset_features("parking"))
    return ParkingFeed(c.source, interval_s=c.interval_s or 2.0, memory=memory)


def _parking_sessions(c: FeedContext) -> Feed:
    sites = site_positions(c.pack.asset_features("parking"))
    return ParkingSessionsFeed(c.source, sites, interval_s=c.interval_s or 10.0)


def _queues(c: FeedContext) -> Feed:
    points = load_service_points(c.pack.asset_features("service_points"))
    return QueuesFeed(c.source, points, interval_s=c.interval_s or 5.0)


def _online_services(c: FeedContext) -> Feed:
    return OnlineServicesFeed(c.source, _districts(c.pack), interval_s=c.interval_s or 60.0)


def _signals(c: FeedContext) -> Feed:
    locations = locations_from_features(c.pack.asset_features("signals"))
    return SignalsFeed(c.source, interval_s=c.interval_s or 5.0, zone=c.pack.timezone,
                       locations=locations)


def _brt_vehicles(c: FeedContext) -> Feed:
    return BrtVehicleFeed(c.source, interval_s=c.interval_s or 10.0)


def _brt_trips(c: FeedContext) -> Feed:
    return BrtTripFeed(c.source, load_gtfs(_gtfs(c.pack)), interval_s=c.interval_s or 30.0)


def _brt_taps(c: FeedContext) -> Feed:
    return TapsFeed(c.source, load_gtfs(_gtfs(c.pack)), c.card_key,
                    interval_s=c.interval_s or 30.0)


FEEDS: dict[str, Callable[[FeedContext], Feed]] = {
    "parking": _parking,
    "parking_sessions": _parking_sessions,
    "queues": _queues,
    "online_services": _online_services,
    "signals": _signals,
    "brt_vehicles": _brt_vehicles,
    "brt_trips": _brt_trips,
    "brt_taps": _brt_taps,
}

# How stale a feed's newest observation may be before /api/health calls it lagging: queue
# desks report once a simulated minute, car parks every few seconds; online counts are per
# day, so their newest "time" is the start of today.
LAG_ALLOWANCE_S: dict[str, float] = {
    "parking": 30.0, "parking_sessions": 600.0, "queues": 120.0, "online_services": 90000.0,
    "signals": 60.0, "brt_vehicles": 60.0, "brt_trips": 120.0, "brt_taps": 600.0,
}


def build_feed(
    name: str, pack: CityPack, source: Source | None = None, interval_s: float | None = None,
    card_key: bytes = b"",
) -> Feed:
    """Build the named feed for a city pack, on its simulator unless a source is given."""
    return _factory(name)(FeedContext(pack, source or simulator_for(name, pack)[0], interval_s,
                                      card_key))


def build_parser(name: str, pack: CityPack, card_key: bytes = b"") -> Feed:
    """The named feed for payloads that are pushed to it (HTTP push, MQTT, file import):
    no simulator is built, and fetching is an error."""
    return _factory(name)(FeedContext(pack, _pushed_only, None, card_key))


def _factory(name: str) -> Callable[[FeedContext], Feed]:
    try:
        return FEEDS[name]
    except KeyError as err:
        raise UnknownFeed(f"unknown feed {name!r}; known: {sorted(FEEDS)}") from err
