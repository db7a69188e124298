"""The BRT feeds: vehicle positions, and trip updates placed at their stops.

Two feeds rather than one: they carry two observation types (where a bus is; when a bus is
or was due at a stop) bound for two tables, and agencies publish them at two URLs polled at
their own pace. One simulator serves both (`simulated_brt_feeds`), so they tell one story.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from feeds.base import Parsed
from feeds.transit.gtfs_realtime import parse_feed
from feeds.transit.gtfs_records import GtfsFeed
from feeds.transit.realtime_match import stop_events
from feeds.transit.realtime_records import StopEvent, VehiclePosition
from feeds.transit.simulator import BrtSimulator

Source = Callable[[], Awaitable[bytes]]


class BrtVehicleFeed:
    """GTFS-Realtime VehiclePositions: one observation per bus report."""

    mode: Literal["poll", "push"] = "poll"

    def __init__(self, source: Source, interval_s: float = 10.0,
                 name: str = "brt_vehicles") -> None:
        self.name = name
        self.interval_s = interval_s
        self._source = source

    async def fetch(self) -> bytes:
        """Return the next FeedMessage from the source."""
        return await self._source()

    def parse(self, payload: bytes) -> Parsed[VehiclePosition]:
        """Parse a FeedMessage without I/O; other entity kinds in it are ignored."""
        feed = parse_feed(payload)
        return Parsed(feed.vehicles, feed.rejected)


class BrtTripFeed:
    """GTFS-Realtime TripUpdates: one observation per stop_time_update, placed at its stop."""

    mode: Literal["poll", "push"] = "poll"

    def __init__(self, source: Source, static: GtfsFeed, interval_s: float = 30.0,
                 name: str = "brt_trips") -> None:
        self.name = name
        self.interval_s = interval_s
        self._source = source
        self._static = static

    async def fetch(self) -> bytes:
        """Return the next FeedMessage from the source."""
        return await self._source()

    def parse(self, payload: bytes) -> Parsed[StopEvent]:
        """Parse a FeedMessage without I/O; stops the static feed lacks are rejected."""
        return stop_events(parse_feed(payload), self._static)


def simulated_brt_feeds(static: GtfsFeed, sim: BrtSimulator
                        ) -> tuple[BrtVehicleFeed, BrtTripFeed]:
    """Both BRT feeds on one simulator of the static feed's line."""
    return (BrtVehicleFeed(sim.fetch_vehicle_positions),
            BrtTripFeed(sim.fetch_trip_updates, static))
