"""The explicit registry of feeds: name to a factory that builds the feed for a city pack."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from feeds.base import Feed, FeedError
from feeds.clock import Clock
from feeds.parking import ParkingFeed
from feeds.parking_sessions import ParkingSessionsFeed, site_positions
from feeds.parking_status import StatusMemory
from feeds.queues.feed import QueuesFeed
from feeds.queues.online_feed import OnlineServicesFeed, OnlineSimulator
from feeds.queues.points import PointError, Sessions, load_service_points, parse_opening_hours
from feeds.queues.simulator import QueueSimulator
from feeds.schedule import Hours, opening_hours
from feeds.sessions_simulator import SessionSimulator
from feeds.signals.feed import SignalsFeed, locations_from_features
from feeds.signals.simulator import SignalSimulator
from feeds.simulator import ParkingSimulator
from feeds.transit.feed import BrtTripFeed, BrtVehicleFeed
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.schedule import service_spans
from feeds.transit.simulator import BrtSimulator
from feeds.transit.taps_feed import TapsFeed, TapSimulator
from geo import CityPack

logger = logging.getLogger(__name__)


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
def _brt_simulator(gtfs: Path, clock: Clock) -> BrtSimulator:
    # Both BRT feeds report the same simulated buses, so they share one simulator.
    return BrtSimulator(load_gtfs(gtfs), now=clock.now)


def _gtfs(pack: CityPack) -> Path:
    if pack.gtfs_path is None:
        raise UnknownFeed(f"pack {pack.name!r} has no GTFS feed for its BRT line")
    return pack.gtfs_path


def _districts(pack: CityPack) -> list[str]:
    return pack.layer(pack.default_layer).codes


def simulator_for(name: str, pack: CityPack, clock: Clock) -> tuple[Source, object]:
    """The simulated source of a feed on the city's clock, and the simulator behind it (for
    injecting faults)."""
    simulator: object
    zone, now = pack.timezone, clock.now
    if name == "parking":
        simulator = ParkingSimulator(pack.asset_features("parking"), timezone=zone, now=now)
    elif name == "parking_sessions":
        simulator = SessionSimulator(pack.asset_features("parking"), timezone=zone, now=now)
    elif name == "queues":
        points = load_service_points(pack.asset_features("service_points"))
        simulator = QueueSimulator(points.values(), timezone=zone, now=now)
    elif name == "online_services":
        simulator = OnlineSimulator(_districts(pack), timezone=zone, now=now)
    elif name == "signals":
        simulator = SignalSimulator(pack.asset_features("signals"), timezone=zone, now=now)
    elif name == "brt_taps":
        simulator = TapSimulator(load_gtfs(_gtfs(pack)), now=now)
    elif name in ("brt_vehicles", "brt_trips"):
        brt = _brt_simulator(_gtfs(pack), clock)
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
DEFAULT_ALLOWANCE_S = 60.0
LAG_ALLOWANCE_S: dict[str, float] = {
    "parking": 30.0, "parking_sessions": 600.0, "queues": 120.0, "online_services": 90000.0,
    "signals": 60.0, "brt_vehicles": 60.0, "brt_trips": 120.0, "brt_taps": 600.0,
}


# Real seconds an observation may spend between its source and the store (a poll, a bus
# entry, a writer batch) before the feed is late; under a time-lapse clock they count as
# `speed` times as many city seconds.
TRANSPORT_S = 5.0


def lag_allowance(feed: str, speed: float) -> float:
    """City seconds a feed's newest observation may lag before it is late, on a clock
    running `speed` times real time (1 in production)."""
    return LAG_ALLOWANCE_S.get(feed, DEFAULT_ALLOWANCE_S) + TRANSPORT_S * (speed - 1.0)


# Hours read once per feed and pack: health and the situations engine ask on every check.
_HOURS: dict[tuple[str, Path], Hours] = {}


def feed_hours(name: str, pack: CityPack) -> Hours:
    """When the named feed's source is scheduled to report (at any hour unless it keeps hours)."""
    key = (name, pack.root)
    if key not in _HOURS:
        _HOURS[key] = _hours(name, pack)
    return _HOURS[key]


def _hours(name: str, pack: CityPack) -> Hours:
    if name in ("brt_vehicles", "brt_trips", "brt_taps") and pack.gtfs_path is not None:
        gtfs = load_gtfs(pack.gtfs_path)
        # Fares are tapped to board, which ends when the last bus of a span sets out.
        boarding = name == "brt_taps"
        return Hours(functools.partial(service_spans, gtfs, boarding=boarding), gtfs.timezone)
    if name == "queues":
        points = load_service_points(pack.asset_features("service_points"))
        return opening_hours((p.sessions for p in points.values()), pack.timezone)
    if name == "parking_sessions":
        # Sessions start only at an open car park; occupancy snapshots report closed ones too.
        return opening_hours(_car_park_sessions(pack), pack.timezone)
    return Hours.always()


def _car_park_sessions(pack: CityPack) -> list[Sessions]:
    sessions: list[Sessions] = []
    for feature in pack.asset_features("parking"):
        props = feature["properties"]
        try:
            sessions.append(parse_opening_hours(str(props["opening_hours"])))
        except (KeyError, PointError) as err:
            # Judged as open at any hour: an unreadable entry must not hide a silent feed.
            logger.warning("car park %s: opening hours unreadable, taken as always open: %s",
                           props.get("id"), err)
            sessions.append(dict.fromkeys(range(7), ((0, 24 * 60),)))
    return sessions


def build_feed(
    name: str, pack: CityPack, source: Source | Clock, interval_s: float | None = None,
    card_key: bytes = b"",
) -> Feed:
    """Build the named feed for a city pack from a source, or on its simulator when given
    the clock the simulation runs on."""
    if isinstance(source, Clock):
        source = simulator_for(name, pack, source)[0]
    return _factory(name)(FeedContext(pack, source, interval_s, card_key))


def build_parser(name: str, pack: CityPack, card_key: bytes = b"") -> Feed:
    """The named feed for payloads that are pushed to it (HTTP push, MQTT, file import):
    no simulator is built, and fetching is an error."""
    return _factory(name)(FeedContext(pack, _pushed_only, None, card_key))


def _factory(name: str) -> Callable[[FeedContext], Feed]:
    try:
        return FEEDS[name]
    except KeyError as err:
        raise UnknownFeed(f"unknown feed {name!r}; known: {sorted(FEEDS)}") from err
