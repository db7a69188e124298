"""The schedule of a static feed: which services run on a day, and scheduled headways at stops."""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from feeds.transit.gtfs_records import GtfsFeed, StopTime

DAY_S = 86_400

# (route_id, direction_id, stop_id): how a scheduled headway is looked up
StopKey = tuple[str, int | None, str]


def runs_on(feed: GtfsFeed, service_id: str, day: date) -> bool:
    """Whether a service runs on a day: calendar_dates exceptions override calendar.txt."""
    exception = feed.calendar_dates.get(service_id, {}).get(day)
    if exception is not None:
        return exception == 1
    calendar = feed.calendars.get(service_id)
    return (calendar is not None and calendar.start <= day <= calendar.end
            and calendar.weekdays[day.weekday()])


def service_day_start(day: date, zone: ZoneInfo) -> datetime:
    """The instant GTFS times of a service day count from: local noon minus 12 hours.

    Not local midnight: on a daylight-saving change the two differ by an hour.
    """
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=zone)
    return noon.astimezone(UTC) - timedelta(hours=12)


def trip_start_instant(day: date, start_time: str, zone: ZoneInfo) -> datetime | None:
    """The instant a trip instance starts: its GTFS start time (HH:MM:SS, may pass 24:00)
    after the start of its service day; None when the time is malformed."""
    parts = start_time.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    hours, minutes, seconds = (int(p) for p in parts)
    if minutes > 59 or seconds > 59:
        return None
    return service_day_start(day, zone) + timedelta(hours=hours, minutes=minutes,
                                                    seconds=seconds)


def call_time(call: StopTime) -> int | None:
    """When a vehicle is scheduled at a stop: its arrival, else its departure."""
    return call.arrival_s if call.arrival_s is not None else call.departure_s


def frequency_starts(feed: GtfsFeed, trip_id: str) -> list[int]:
    """Trip start times (s after the service day start) that frequencies.txt generates."""
    starts: list[int] = []
    for window in feed.frequencies.get(trip_id, ()):
        starts.extend(range(window.start_s, window.end_s, window.headway_s))
    return starts


def scheduled_at(feed: GtfsFeed, trip_id: str, stop_sequence: int, day: date,
                 start_s: int | None = None, departure: bool = False) -> datetime | None:
    """The scheduled arrival (or departure) instant of a trip's call; None if unknown.

    For a frequency-based trip, `start_s` (the instance's start time) places its template.
    """
    calls = feed.stop_times.get(trip_id, ())
    call = next((c for c in calls if c.stop_sequence == stop_sequence), None)
    when = None if call is None else call.departure_s if departure else call_time(call)
    if when is None:
        return None
    if trip_id in feed.frequencies:
        first = call_time(calls[0])
        if start_s is None or first is None:
            return None
        when = start_s + when - first
    return service_day_start(day, feed.timezone) + timedelta(seconds=when)


class Timetable:
    """Scheduled passing times and headway windows at every stop on one service day."""

    def __init__(self, feed: GtfsFeed, day: date) -> None:
        self.day = day
        self._start = service_day_start(day, feed.timezone)
        self._times: defaultdict[StopKey, list[int]] = defaultdict(list)
        self._windows: defaultdict[StopKey, list[tuple[int, int, int]]] = defaultdict(list)
        # Trips of the day before that run past midnight are part of this day's service too.
        for service_day, shift in ((day, 0), (day - timedelta(days=1), -DAY_S)):
            for trip in feed.trips.values():
                if runs_on(feed, trip.service_id, service_day):
                    self._add(feed, trip.trip_id, shift)
        for times in self._times.values():
            times.sort()

    def _add(self, feed: GtfsFeed, trip_id: str, shift: int) -> None:
        trip = feed.trips[trip_id]
        calls = feed.stop_times.get(trip_id, ())
        windows = feed.frequencies.get(trip_id, ())
        first = call_time(calls[0]) if calls else None
        for call in calls:
            when = call_time(call)
            if when is None:
                continue
            key = (trip.route_id, trip.direction_id, call.stop_id)
            if not windows:
                self._times[key].append(when + shift)
            elif first is not None:
                # A frequency window counts from the trip's first stop: shift it to this stop.
                offset = when - first + shift
                self._windows[key].extend(
                    (w.start_s + offset, w.end_s + offset, w.headway_s) for w in windows)

    def headway_at(self, route_id: str, direction_id: int | None, stop_id: str,
                   seconds: float) -> float | None:
        """Scheduled headway (s) at a stop and time (s after the service day start).

        From frequencies.txt when a window covers the time: windows of several trips that
        serve the stop at once combine as 1 / sum(1 / h). Otherwise from stop_times.txt: the
        interval between the scheduled passings just before and just after the time.
        None outside service.
        """
        key = (route_id, direction_id, stop_id)
        rates = [1 / h for start, end, h in self._windows.get(key, ()) if start <= seconds < end]
        if rates:
            return 1 / sum(rates)
        times = self._times.get(key)
        if not times:
            return None
        after = bisect.bisect_right(times, seconds)
        if after == 0 or after == len(times):
            return None
        return float(times[after] - times[after - 1])

    def headway_at_instant(self, route_id: str, direction_id: int | None, stop_id: str,
                           when: datetime) -> float | None:
        """Scheduled headway (s) at a stop at an instant of this service day."""
        seconds = (when - self._start).total_seconds()
        return self.headway_at(route_id, direction_id, stop_id, seconds)


def trip_instances(feed: GtfsFeed, day: date) -> list[tuple[datetime, datetime]]:
    """Every trip scheduled on a service day: when it leaves its first stop and when it
    reaches its last (each instance of a frequency-based trip)."""
    instances: list[tuple[datetime, datetime]] = []
    start = service_day_start(day, feed.timezone)
    for trip in feed.trips.values():
        calls = feed.stop_times.get(trip.trip_id, ())
        if not calls or not runs_on(feed, trip.service_id, day):
            continue
        first = calls[0].departure_s if calls[0].departure_s is not None else call_time(calls[0])
        last = call_time(calls[-1])
        if first is None or last is None:
            continue
        starts = frequency_starts(feed, trip.trip_id) if trip.trip_id in feed.frequencies \
            else [first]
        instances.extend((start + timedelta(seconds=s), start + timedelta(seconds=s + last - first))
                         for s in starts)
    return instances


def service_spans(feed: GtfsFeed, day: date, boarding: bool = False
                  ) -> list[tuple[datetime, datetime]]:
    """When the service of a day runs: from a first departure to the last arrival of the trips
    that overlap it. With `boarding`, each span ends when its last trip sets out instead:
    riders board later only along that trip's way, too few to judge a fare feed's silence by."""
    spans: list[tuple[datetime, datetime, datetime]] = []  # start, end, last departure
    for start, end in sorted(trip_instances(feed, day)):
        if spans and start <= spans[-1][1]:
            first, until, _ = spans[-1]
            spans[-1] = (first, max(until, end), start)
        else:
            spans.append((start, end, start))
    return [(first, last_start if boarding else end) for first, end, last_start in spans]
