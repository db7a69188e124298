"""GTFS static import from a zip or a folder: required files and columns, bad rows alone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds.base import Rejected
from feeds.transit import gtfs_tables as t
from feeds.transit.gtfs_records import (
    Agency,
    Calendar,
    Frequency,
    GtfsFeed,
    Route,
    ShapePoint,
    Stop,
    StopTime,
    Trip,
)
from feeds.transit.gtfs_tables import FeedFiles, GtfsError, RowError

__all__ = ["GtfsError", "GtfsFeed", "load_gtfs"]

DAY_S = 86_400
# GTFS times may pass 24:00 for trips that run past midnight; two days is already generous.
MAX_TIME_S = 2 * DAY_S
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


R = TypeVar("R")
K = TypeVar("K")


def _index(files: FeedFiles, name: str, required: tuple[str, ...],
           build: Callable[[dict[str, str]], R], key: Callable[[R], K],
           rejected: list[Rejected]) -> dict[K, R]:
    """Build one record per row, keyed; a bad row or a repeated key is rejected alone."""
    index: dict[K, R] = {}
    for line, row in files.rows(name, required):
        try:
            record = build(row)
            if key(record) in index:
                raise RowError(f"repeats the key {key(record)!r} of an earlier row")
        except RowError as err:
            rejected.append(Rejected(f"{name} line {line}: {err}", t.raw_row(name, line, row)))
            continue
        index[key(record)] = record
    return index


def _agency(row: dict[str, str]) -> Agency:
    zone = t.text(row, "agency_timezone")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise RowError(f"agency_timezone {zone!r} is not a known time zone") from err
    return Agency(t.optional(row, "agency_id"), t.text(row, "agency_name"),
                  t.text(row, "agency_url"), zone)


def _stop(row: dict[str, str]) -> Stop:
    kind = t.integer(row, "location_type", 0, 4, default=0)
    # Stops, stations and entrances (0-2) must be placed; generic nodes and boarding areas not.
    placed = kind <= 2
    lat = t.number(row, "stop_lat", -90, 90) if placed else t.optional_number(
        row, "stop_lat", -90, 90)
    lon = t.number(row, "stop_lon", -180, 180) if placed else t.optional_number(
        row, "stop_lon", -180, 180)
    name = t.text(row, "stop_name") if placed else t.optional(row, "stop_name")
    return Stop(t.text(row, "stop_id"), name, lat, lon, kind, t.optional(row, "parent_station"))


def _route(row: dict[str, str]) -> Route:
    short, long = t.optional(row, "route_short_name"), t.optional(row, "route_long_name")
    if short is None and long is None:
        raise RowError("route_short_name and route_long_name are both empty")
    return Route(t.text(row, "route_id"), t.optional(row, "agency_id"), short, long,
                 t.integer(row, "route_type", 0, 1702))


def _trip(row: dict[str, str]) -> Trip:
    return Trip(t.text(row, "trip_id"), t.text(row, "route_id"), t.text(row, "service_id"),
                t.optional_integer(row, "direction_id", 0, 1), t.optional(row, "trip_headsign"),
                t.optional(row, "shape_id"))


def _stop_time(row: dict[str, str]) -> StopTime:
    arrival, departure = t.gtfs_time(row, "arrival_time"), t.gtfs_time(row, "departure_time")
    for value in (arrival, departure):
        if value is not None and value > MAX_TIME_S:
            raise RowError(f"time {value} s is more than two days after the service day start")
    # The reference: when only one of the two is given, the stop has a single time.
    arrival = departure if arrival is None else arrival
    departure = arrival if departure is None else departure
    if arrival is not None and departure is not None and departure < arrival:
        raise RowError("departure_time is before arrival_time")
    return StopTime(t.text(row, "trip_id"), t.integer(row, "stop_sequence", 0, 2**31 - 1),
                    t.text(row, "stop_id"), arrival, departure,
                    t.optional_number(row, "shape_dist_traveled", 0, 1e12))


def _frequency(row: dict[str, str]) -> Frequency:
    start, end = t.gtfs_time(row, "start_time"), t.gtfs_time(row, "end_time")
    if start is None or end is None or end <= start:
        raise RowError("start_time and end_time must be given with end after start")
    return Frequency(t.text(row, "trip_id"), start, end,
                     t.integer(row, "headway_secs", 1, DAY_S),
                     t.integer(row, "exact_times", 0, 1, default=0) == 1)


def _shape_point(row: dict[str, str]) -> ShapePoint:
    return ShapePoint(t.text(row, "shape_id"), t.integer(row, "shape_pt_sequence", 0, 2**31 - 1),
                      t.number(row, "shape_pt_lat", -90, 90),
                      t.number(row, "shape_pt_lon", -180, 180),
                      t.optional_number(row, "shape_dist_traveled", 0, 1e12))


def _calendar(row: dict[str, str]) -> Calendar:
    days = tuple(t.integer(row, day, 0, 1) == 1 for day in WEEKDAYS)
    start, end = t.gtfs_date(row, "start_date"), t.gtfs_date(row, "end_date")
    if end < start:
        raise RowError("end_date is before start_date")
    return Calendar(t.text(row, "service_id"), days, start, end)


def _calendar_date(row: dict[str, str]) -> tuple[str, date, int]:
    return (t.text(row, "service_id"), t.gtfs_date(row, "date"),
            t.integer(row, "exception_type", 1, 2))


def load_gtfs(path: Path | str) -> GtfsFeed:
    """Import a GTFS static feed from a zip or a folder; raises GtfsError if it is unusable."""
    with FeedFiles(Path(path)) as files:
        feed = GtfsFeed()
        _load_required(files, feed)
        _load_optional(files, feed)
    return feed


def _load_required(files: FeedFiles, feed: GtfsFeed) -> None:
    bad = feed.rejected
    feed.agencies = list(_index(files, "agency.txt", ("agency_name", "agency_url",
                                                      "agency_timezone"),
                                _agency, lambda a: a.agency_id, bad).values())
    if not feed.agencies:
        raise GtfsError("agency.txt has no valid agency")
    # Position and name columns are conditionally required: any feed with a stop needs them.
    feed.stops = _index(files, "stops.txt", ("stop_id", "stop_name", "stop_lat", "stop_lon"),
                        _stop, lambda s: s.stop_id, bad)
    feed.routes = _index(files, "routes.txt", ("route_id", "route_type"), _route,
                         lambda r: r.route_id, bad)
    feed.trips = _index(files, "trips.txt", ("route_id", "service_id", "trip_id"),
                        _checked(_trip, "route_id", feed.routes), lambda r: r.trip_id, bad)
    calls = _index(files, "stop_times.txt", ("trip_id", "arrival_time", "departure_time",
                                             "stop_id", "stop_sequence"),
                   _checked(_checked(_stop_time, "trip_id", feed.trips), "stop_id", feed.stops),
                   lambda c: (c.trip_id, c.stop_sequence), bad)
    by_trip: defaultdict[str, list[StopTime]] = defaultdict(list)
    for call in calls.values():
        by_trip[call.trip_id].append(call)
    feed.stop_times = {trip: tuple(sorted(c, key=lambda x: x.stop_sequence))
                       for trip, c in by_trip.items()}
    if not (files.has("calendar.txt") or files.has("calendar_dates.txt")):
        raise GtfsError("the feed has neither calendar.txt nor calendar_dates.txt")


def _load_optional(files: FeedFiles, feed: GtfsFeed) -> None:
    bad = feed.rejected
    if files.has("frequencies.txt"):
        windows: defaultdict[str, list[Frequency]] = defaultdict(list)
        for window in _index(files, "frequencies.txt", ("trip_id", "start_time", "end_time",
                                                         "headway_secs"),
                             _checked(_frequency, "trip_id", feed.trips),
                             lambda f: (f.trip_id, f.start_s), bad).values():
            windows[window.trip_id].append(window)
        feed.frequencies = {trip: tuple(sorted(w)) for trip, w in windows.items()}
    if files.has("shapes.txt"):
        points: defaultdict[str, list[ShapePoint]] = defaultdict(list)
        for point in _index(files, "shapes.txt", ("shape_id", "shape_pt_lat", "shape_pt_lon",
                                                  "shape_pt_sequence"), _shape_point,
                            lambda p: (p.shape_id, p.sequence), bad).values():
            points[point.shape_id].append(point)
        feed.shapes = {shape: tuple(sorted(p, key=lambda x: x.sequence))
                       for shape, p in points.items()}
    if files.has("calendar.txt"):
        feed.calendars = _index(files, "calendar.txt", ("service_id", *WEEKDAYS, "start_date",
                                                        "end_date"), _calendar,
                                lambda c: c.service_id, bad)
    if files.has("calendar_dates.txt"):
        for service, day, kind in _index(files, "calendar_dates.txt",
                                         ("service_id", "date", "exception_type"),
                                         _calendar_date, lambda c: c[:2], bad).values():
            feed.calendar_dates.setdefault(service, {})[day] = kind


def _checked(build: Callable[[dict[str, str]], R], column: str, known: Mapping[str, object]
             ) -> Callable[[dict[str, str]], R]:
    """Wrap a row builder with a check that `column` names a record already loaded."""
    def checked(row: dict[str, str]) -> R:
        record = build(row)
        if row[column] not in known:
            raise RowError(f"{column} {row[column]!r} is not defined")
        return record
    return checked
