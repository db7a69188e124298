"""The explicit registry of feeds: name to a factory that builds the feed for a city pack."""

from __future__ import annotations

from collections.abc import Callable

from feeds.base import Feed
from feeds.parking import ParkingFeed
from feeds.simulator import ParkingSimulator
from geo import CityPack


class UnknownFeed(KeyError):
    """A feed name that the registry does not know."""


def _parking(pack: CityPack) -> Feed:
    simulator = ParkingSimulator(pack.asset_features("parking"), timezone=pack.timezone)
    return ParkingFeed(simulator, interval_s=2.0)


FEEDS: dict[str, Callable[[CityPack], Feed]] = {
    "parking": _parking,
}


def build_feed(name: str, pack: CityPack) -> Feed:
    """Build the named feed for a city pack."""
    try:
        factory = FEEDS[name]
    except KeyError as err:
        raise UnknownFeed(f"unknown feed {name!r}; known: {sorted(FEEDS)}") from err
    return factory(pack)
