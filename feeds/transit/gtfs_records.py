"""GTFS static records: one typed tuple per row kind, and the feed that indexes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple
from zoneinfo import ZoneInfo

from feeds.base import Rejected


class Agency(NamedTuple):
    """One operator (agency.txt)."""

    agency_id: str | None
    name: str
    url: str
    timezone: str


class Stop(NamedTuple):
    """A stop, station or other location (stops.txt); generic nodes may have no position."""

    stop_id: str
    name: str | None
    lat: float | None
    lon: float | None
    location_type: int
    parent_station: str | None


class Route(NamedTuple):
    """A line as riders know it (routes.txt)."""

    route_id: str
    agency_id: str | None
    short_name: str | None
    long_name: str | None
    route_type: int


class Trip(NamedTuple):
    """One journey pattern of a route on a service (trips.txt)."""

    trip_id: str
    route_id: str
    service_id: str
    direction_id: int | None
    headsign: str | None
    shape_id: str | None


class StopTime(NamedTuple):
    """A trip's call at a stop; times are seconds after the service day's start (stop_times.txt)."""

    trip_id: str
    stop_sequence: int
    stop_id: str
    arrival_s: int | None
    departure_s: int | None
    shape_dist: float | None


class Frequency(NamedTuple):
    """Headway-based service of a trip over [start_s, end_s) (frequencies.txt)."""

    trip_id: str
    start_s: int
    end_s: int
    headway_s: int
    exact_times: bool


class ShapePoint(NamedTuple):
    """One vertex of a trip's path (shapes.txt)."""

    shape_id: str
    sequence: int
    lat: float
    lon: float
    dist: float | None


class Calendar(NamedTuple):
    """Weekly service pattern over a date range (calendar.txt)."""

    service_id: str
    weekdays: tuple[bool, ...]  # Monday first
    start: date
    end: date


@dataclass(slots=True)
class GtfsFeed:
    """A whole static feed in memory, indexed by id, with the rows it rejected."""

    agencies: list[Agency] = field(default_factory=list)
    stops: dict[str, Stop] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    trips: dict[str, Trip] = field(default_factory=dict)
    stop_times: dict[str, tuple[StopTime, ...]] = field(default_factory=dict)
    frequencies: dict[str, tuple[Frequency, ...]] = field(default_factory=dict)
    shapes: dict[str, tuple[ShapePoint, ...]] = field(default_factory=dict)
    calendars: dict[str, Calendar] = field(default_factory=dict)
    # service_id -> date -> exception_type (1 = service added, 2 = service removed)
    calendar_dates: dict[str, dict[date, int]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def timezone(self) -> ZoneInfo:
        """The feed's time zone: every agency of a feed must share it."""
        return ZoneInfo(self.agencies[0].timezone)
