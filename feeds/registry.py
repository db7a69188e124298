"""The explicit registry of feeds: name to a factory that builds the feed for a city pack."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from feeds.base import Feed
from feeds.parking import ParkingFeed
from feeds.parking_status import StatusMemory
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


FEEDS: dict[str, Callable[[CityPack, Source | None, float | None], Feed]] = {
    "parking": _parking,
}


def build_feed(
    name: str, pack: CityPack, source: Source | None = None, interval_s: float | None = None
) -> Feed:
    """Build the named feed for a city pack, on its simulator unless a source is given."""
    try:
        factory = FEEDS[name]
    except KeyError as err:
        raise UnknownFeed(f"unknown feed {name!r}; known: {sorted(FEEDS)}") from err
    return factory(pack, source, interval_s)
