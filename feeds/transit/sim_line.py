"""A line as the simulator drives it, read from a static feed: stops on a path, schedule, demand."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import NamedTuple

from feeds.transit.gtfs_records import GtfsFeed
from feeds.transit.gtfs_tables import GtfsError
from feeds.transit.polyline import Polyline
from feeds.transit.schedule import call_time, frequency_starts, runs_on, service_day_start

# Share of a day's riders in each local hour (0..23): morning and evening peaks.
HOURLY_RIDERS = (0, 0, 0, 0, 0, 1.5, 5, 11, 11, 6, 4.5, 4.5, 4.5, 4.5, 4.5, 5, 6.5, 10.5,
                 10, 5, 3.5, 2.5, 0, 0)
PEAK_HOURS = frozenset({7, 8, 17, 18})


class LineStop(NamedTuple):
    """A stop of the template trip: where along the path, and its scheduled offsets (s)."""

    stop_id: str
    sequence: int
    distance_m: float
    arrive_s: int
    depart_s: int
    lon: float
    lat: float


class LineDirection(NamedTuple):
    """One direction of the line: its template trip, stops and path."""

    direction_id: int
    route_id: str
    trip_id: str
    stops: tuple[LineStop, ...]
    path: Polyline

    def run_s(self, index: int) -> int:
        """Scheduled running time from stop `index` to the next one."""
        return self.stops[index + 1].arrive_s - self.stops[index].depart_s


def line_directions(feed: GtfsFeed, route_id: str) -> dict[int, LineDirection]:
    """Both directions of a frequency-based route, from the first trip found in each."""
    directions: dict[int, LineDirection] = {}
    for trip in feed.trips.values():
        direction = trip.direction_id or 0
        if trip.route_id != route_id or direction in directions:
            continue
        calls = feed.stop_times.get(trip.trip_id, ())
        placed = [(c, feed.stops[c.stop_id]) for c in calls]
        if len(placed) < 2 or any(call_time(c) is None or s.lon is None or s.lat is None
                                  for c, s in placed):
            raise GtfsError(f"trip {trip.trip_id} needs two or more timed, placed stops")
        shape = feed.shapes.get(trip.shape_id or "", ())
        path = Polyline([(p.lon, p.lat) for p in shape] if len(shape) >= 2 else
                        [(s.lon or 0.0, s.lat or 0.0) for _, s in placed])
        first = call_time(calls[0]) or 0
        stops, along = [], 0.0
        for call, stop in placed:
            along = path.locate(stop.lon or 0.0, stop.lat or 0.0, after=along)
            arrive = call_time(call) or 0
            depart = arrive if call.departure_s is None else call.departure_s
            stops.append(LineStop(stop.stop_id, call.stop_sequence, along, arrive - first,
                                  depart - first, stop.lon or 0.0, stop.lat or 0.0))
        directions[direction] = LineDirection(direction, route_id, trip.trip_id, tuple(stops),
                                              path)
    if not directions:
        raise GtfsError(f"route {route_id!r} has no trips with stops")
    return directions


def dispatch_times(feed: GtfsFeed, line: LineDirection, day: date) -> list[datetime]:
    """When buses leave the first stop on a service day, from frequencies.txt."""
    trip = feed.trips[line.trip_id]
    if not runs_on(feed, trip.service_id, day):
        return []
    start = service_day_start(day, feed.timezone)
    return [start + timedelta(seconds=s) for s in sorted(frequency_starts(feed, line.trip_id))]


def peak_direction(line: LineDirection, local_hour: int) -> bool:
    """Whether a direction carries the peak: towards Kim Mã (the first stop of direction 0)
    in the morning peak, away from it in the evening peak."""
    return local_hour in PEAK_HOURS and (local_hour < 12) == (line.direction_id == 1)


def boarding_rate(riders_per_day: float, line: LineDirection, index: int, local_hour: int
                  ) -> float:
    """Passengers per second arriving at a stop for one direction.

    The peak direction carries two thirds of a peak hour's riders, and its commuters board
    mostly where it starts (the suburbs in the morning, the centre in the evening).
    """
    count = len(line.stops)
    if index >= count - 1:
        return 0.0
    share = HOURLY_RIDERS[local_hour] / sum(HOURLY_RIDERS)
    peak = peak_direction(line, local_hour)
    direction_share = 0.5 if local_hour not in PEAK_HOURS else 2 / 3 if peak else 1 / 3
    weights = [float(count - i) if peak else math.sqrt(count - i) for i in range(count - 1)]
    return riders_per_day * share * direction_share * weights[index] / sum(weights) / 3600


def alight_probability(line: LineDirection, index: int, local_hour: int) -> float:
    """Chance that a rider on board gets off at stop `index` (everyone at the terminus).

    Peak-direction commuters ride through to the last third of the line.
    """
    remaining = len(line.stops) - index
    if remaining <= 1:
        return 1.0
    early = peak_direction(line, local_hour) and index < 2 * len(line.stops) // 3
    return min(1.0, 1.5 / remaining) * (0.25 if early else 1.0)
