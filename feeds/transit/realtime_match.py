"""How a realtime snapshot meets the static feed: unknown ids, delays, stop events placed."""

from __future__ import annotations

import orjson

from feeds.base import Parsed, Rejected
from feeds.transit.gtfs_records import GtfsFeed
from feeds.transit.realtime_records import RealtimeFeed, StopEvent, StopTimeUpdate, TripUpdate
from feeds.transit.schedule import scheduled_at

# Trips that by definition are not in the static feed, so their trip_id is not looked up.
NEW_TRIPS = frozenset({"ADDED", "NEW", "UNSCHEDULED"})


def unmatched(feed: RealtimeFeed, static: GtfsFeed) -> list[str]:
    """What a snapshot names that the static feed does not know: trips, stops, stop sequences."""
    problems: list[str] = []
    for vehicle in feed.vehicles:
        if vehicle.trip_id and vehicle.trip_id not in static.trips:
            problems.append(f"vehicle {vehicle.vehicle_id}: unknown trip {vehicle.trip_id!r}")
        if vehicle.stop_id and vehicle.stop_id not in static.stops:
            problems.append(f"vehicle {vehicle.vehicle_id}: unknown stop {vehicle.stop_id!r}")
    for trip in feed.trip_updates:
        known = trip.schedule_relationship in NEW_TRIPS or trip.trip_id in static.trips
        if not known:
            problems.append(f"trip update {trip.entity_id}: unknown trip {trip.trip_id!r}")
        calls = {c.stop_sequence: c.stop_id for c in static.stop_times.get(trip.trip_id or "", ())}
        for update in trip.stop_time_updates:
            if update.stop_id and update.stop_id not in static.stops:
                problems.append(f"trip update {trip.entity_id}: unknown stop {update.stop_id!r}")
            expected = calls.get(update.stop_sequence) if update.stop_sequence is not None \
                else None
            if expected and update.stop_id and expected != update.stop_id:
                problems.append(f"trip update {trip.entity_id}: stop_sequence "
                                f"{update.stop_sequence} is {expected!r}, not {update.stop_id!r}")
    return problems


def _seconds(clock: str | None) -> int | None:
    """Seconds of an HH:MM:SS start_time, None when absent or unreadable."""
    parts = (clock or "").split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2])


def _sequence(static: GtfsFeed, trip_id: str, update: StopTimeUpdate) -> int | None:
    if update.stop_sequence is not None:
        return update.stop_sequence
    calls = [c for c in static.stop_times.get(trip_id, ()) if c.stop_id == update.stop_id]
    # A stop served twice by one trip (a loop) cannot be told apart by its id alone.
    return calls[0].stop_sequence if len(calls) == 1 else None


def stop_delay(static: GtfsFeed, trip: TripUpdate, update: StopTimeUpdate) -> int | None:
    """Seconds late at a stop: the feed's own delay, else predicted minus scheduled time.

    For a frequency-based trip the schedule is its start_time plus the template trip's
    running times: how far the bus is behind its planned run, not behind a timetable.
    """
    if update.arrival_delay is not None:
        return update.arrival_delay
    if update.arrival_time is None and update.departure_delay is not None:
        return update.departure_delay
    when = update.arrival_time or update.departure_time
    if when is None or trip.trip_id is None or trip.start_date is None:
        return None
    sequence = _sequence(static, trip.trip_id, update)
    if sequence is None:
        return None
    scheduled = scheduled_at(static, trip.trip_id, sequence, trip.start_date,
                             start_s=_seconds(trip.start_time),
                             departure=update.arrival_time is None)
    return None if scheduled is None else round((when - scheduled).total_seconds())


def stop_events(feed: RealtimeFeed, static: GtfsFeed) -> Parsed[StopEvent]:
    """One placed observation per stop_time_update; stops the static feed lacks are rejected."""
    parsed: Parsed[StopEvent] = Parsed(rejected=list(feed.rejected))
    for trip in feed.trip_updates:
        observed_at = trip.timestamp or feed.header_time
        calls = {c.stop_sequence: c.stop_id for c in static.stop_times.get(trip.trip_id or "", ())}
        for update in trip.stop_time_updates:
            stop_id = update.stop_id or calls.get(update.stop_sequence or -1)
            stop = static.stops.get(stop_id or "")
            if observed_at is None or stop is None or stop.lon is None or stop.lat is None:
                reason = ("the trip update has no timestamp" if observed_at is None
                          else f"stop {stop_id!r} is not in the static feed or has no position")
                parsed.rejected.append(Rejected(f"trip {trip.trip_id!r}: {reason}",
                                                _raw(trip, update)))
                continue
            parsed.observations.append(StopEvent(
                trip.trip_id, trip.route_id, trip.direction_id, trip.start_date,
                trip.start_time, trip.schedule_relationship, trip.vehicle_id,
                update.stop_sequence, stop.stop_id, update.arrival_time, update.departure_time,
                stop_delay(static, trip, update), update.schedule_relationship, observed_at,
                stop.lon, stop.lat))
    return parsed


def _raw(trip: TripUpdate, update: StopTimeUpdate) -> str:
    return orjson.dumps({"trip_id": trip.trip_id, "start_date": trip.start_date,
                         "update": update._asdict()}).decode()
