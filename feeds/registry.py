"""The explicit registry of feeds: name to a factory that builds the feed for a city pack."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from feeds.base import Feed
from feeds.parking import ParkingFeed
from feeds.parking_status import StatusMemory
from feeds.queues.feed import QueuesFeed
from feeds.queues.points import load_service_points
from feeds.queues.simulator import QueueSimulator
from feeds.simulator import ParkingSimulator
from geo import CityPack


class UnknownFeed(KeyError):
    """A feed name that the registry does not know."""


Source = Callable[[], Awaitable[bytes]]


def _parking(pack: CityPack, source: Source | None, interval_s: float | None) -> Feed:
    sites = pack.asset_features("parking")
    if source is None:
        source = ParkingSimulator(sites, timezone=pack.timezone)
    return ParkingFeed(source, interval_s=interval_s or 2.0, memory=StatusMemory(sites))


def _queues(pack: CityPack, source: Source | None, interval_s: float | None) -> Feed:
    points = load_service_points(pack.asset_features("service_points"))
    if source is None:
        source = QueueSimulator(points.values(), timezone=pack.timezone)
    return QueuesFeed(source, points, interval_s=interval_s or 5.0)


FEEDS: dict[str, Callable[[CityPack, Source | None, float | None], Feed]] = {
    "parking": _parking,
    "queues": _queues,
}


# How stale a feed's newest observation may be before /api/health calls it lagging: queue
# desks report once a simulated minute, car parks every few seconds.
LAG_ALLOWANCE_S: dict[str, float] = {"parking": 30.0, "queues": 120.0}


def build_feed(
    name: str, pack: CityPack, source: Source | None = None, interval_s: float | None = None
) -> Feed:
    """Build the named feed for a city pack, on its simulator unless a source is given."""
    try:
        factory = FEEDS[name]
    except KeyError as err:
        raise UnknownFeed(f"unknown feed {name!r}; known: {sorted(FEEDS)}") from err
    return factory(pack, source, interval_s)
