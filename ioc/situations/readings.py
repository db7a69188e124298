"""Readings: what the rules judge, taken from the observations on the feeds' streams.

A reading is one subject's measures at one instant (source time), with where it is and the
observation it came from (kept as evidence). Stateless decoders handle signals and car
parks; BRT positions go through a small stateful watcher (arrivals, headways, stops).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from feeds.signals.codes import DETECTOR_FAULTS, DETECTOR_OFF, DETECTOR_ON, DETECTOR_RESTORED
from feeds.transit.gtfs_records import GtfsFeed
from feeds.transit.headways import ArrivalDetector, HeadwayThresholds, expected_headway
from feeds.transit.realtime_records import VehiclePosition
from feeds.transit.schedule import Timetable, trip_start_instant

EARTH_M = 6_371_000.0


@dataclass(frozen=True, slots=True)
class Reading:
    """One subject's measures at `at`, from `source`."""

    source: str
    subject: str
    at: datetime
    values: Mapping[str, float | str]
    asset_kind: str | None = None
    asset_id: str | None = None
    district: str | None = None
    lon: float | None = None
    lat: float | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)


def _position(record: Mapping[str, Any]) -> tuple[float | None, float | None]:
    lon, lat = record.get("lon"), record.get("lat")
    if lon is None or lat is None or math.isnan(lon) or math.isnan(lat):
        return None, None
    return float(lon), float(lat)


def parking_readings(records: list[dict[str, Any]]) -> Iterator[Reading]:
    """Occupancy share of each car park and vehicle type reported."""
    for r in records:
        if r["capacity"] <= 0:
            continue
        lon, lat = _position(r)
        yield Reading(
            "parking", f"{r['site_id']}/{r['vehicle_type']}",
            datetime.fromisoformat(r["observed_at"]),
            {"occupancy": r["occupied"] / r["capacity"]}, "parking", r["site_id"],
            r["district"], lon, lat,
            {"site_id": r["site_id"], "vehicle_type": r["vehicle_type"],
             "occupied": r["occupied"], "capacity": r["capacity"], "status": r["status"],
             "observed_at": r["observed_at"]})


def signal_readings(records: list[dict[str, Any]]) -> Iterator[Reading]:
    """Unit status changes, detector faults and restorations, and detector presence (on or
    off: a detector on for too long is stuck, whether or not the controller says so)."""
    for r in records:
        if "state" in r:
            lon, lat = _position(r)
            yield Reading(
                "signal_status", r["signal_id"], datetime.fromisoformat(r["at"]),
                {"state": r["state"]}, "signal", r["signal_id"], r["district"], lon, lat,
                {"signal_id": r["signal_id"], "state": r["state"], "reason": r["reason"],
                 "since": r["since"], "at": r["at"]})
            continue
        code = r["event_code"]
        if code in DETECTOR_FAULTS or code == DETECTOR_RESTORED:
            lon, lat = _position(r)
            yield Reading(
                "detector", f"{r['signal_id']}/{r['parameter']}",
                datetime.fromisoformat(r["time"]),
                {"fault": 0.0 if code == DETECTOR_RESTORED else 1.0}, "signal", r["signal_id"],
                r["district"], lon, lat,
                {"signal_id": r["signal_id"], "channel": r["parameter"], "event_code": code,
                 "time": r["time"]})
        elif code in (DETECTOR_ON, DETECTOR_OFF):
            lon, lat = _position(r)
            yield Reading(
                "detector", f"{r['signal_id']}/{r['parameter']}/presence",
                datetime.fromisoformat(r["time"]), {"on": 1.0 if code == DETECTOR_ON else 0.0},
                "signal", r["signal_id"], r["district"], lon, lat,
                {"signal_id": r["signal_id"], "channel": r["parameter"], "event_code": code,
                 "time": r["time"]})


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Equirectangular distance: exact enough at a few hundred metres."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return EARTH_M * math.hypot(x, math.radians(lat2 - lat1))


class BrtWatch:
    """Turns BRT vehicle positions into headway readings (per line direction) and vehicle
    readings (stopped away from a station), with the timetable of the pack."""

    def __init__(self, static: GtfsFeed, station_radius_m: float = 150.0, stopped_mps: float = 0.5,
                 thresholds: HeadwayThresholds | None = None) -> None:
        self._static = static
        self._arrivals = ArrivalDetector(self._calls, self._trip_start)
        self._last: dict[tuple[str | None, int | None, str], datetime] = {}
        self._timetables: dict[date, Timetable] = {}
        self._stations = [(s.lon, s.lat) for s in static.stops.values()
                          if s.lon is not None and s.lat is not None]
        self._radius = station_radius_m
        self._stopped_mps = stopped_mps
        self._limits = thresholds or HeadwayThresholds()

    def _calls(self, trip_id: str) -> list[tuple[int, str]]:
        return [(c.stop_sequence, c.stop_id) for c in self._static.stop_times.get(trip_id, ())]

    def _trip_start(self, p: VehiclePosition) -> datetime | None:
        if p.start_date is None or not p.start_time:
            return None
        return trip_start_instant(p.start_date, p.start_time, self._static.timezone)

    def _scheduled(self, route: str | None, direction: int | None, stop: str,
                   at: datetime) -> float | None:
        if route is None:
            return None
        day = at.astimezone(self._static.timezone).date()
        timetable = self._timetables.get(day)
        if timetable is None:
            self._timetables = {day: Timetable(self._static, day)}
            timetable = self._timetables[day]
        return timetable.headway_at_instant(route, direction, stop, at)

    def readings(self, records: list[dict[str, Any]]) -> Iterator[Reading]:
        """Readings of the positions reported, in time order."""
        positions = [_vehicle(r) for r in records]
        yield from (self._stopped(p) for p in positions)
        for arrival in self._arrivals.update(positions):
            key = (arrival.route_id, arrival.direction_id, arrival.stop_id)
            before, self._last[key] = self._last.get(key), arrival.at
            if before is None or arrival.at <= before:
                continue
            seconds = (arrival.at - before).total_seconds()
            scheduled = expected_headway(self._scheduled, *key, before, arrival.at)
            if scheduled is None:
                continue
            kind = self._limits.classify(seconds, scheduled)
            stop = self._static.stops.get(arrival.stop_id)
            yield Reading(
                "brt_headway", f"{arrival.route_id}/{arrival.direction_id}", arrival.at,
                {"bunching": float(kind == "bunching"), "gap": float(kind == "gap"),
                 "ratio": seconds / scheduled},
                "brt_route", f"{arrival.route_id}/{arrival.direction_id}", None,
                None if stop is None else stop.lon, None if stop is None else stop.lat,
                {"stop_id": arrival.stop_id, "vehicle_id": arrival.vehicle_id,
                 "headway_s": round(seconds, 1), "scheduled_s": scheduled,
                 "at": arrival.at.isoformat()})

    def _stopped(self, p: VehiclePosition) -> Reading:
        still = p.speed is not None and p.speed <= self._stopped_mps
        away = p.current_status != "STOPPED_AT" and all(
            _metres(p.lon, p.lat, lon, lat) > self._radius for lon, lat in self._stations)
        return Reading(
            "brt_vehicle", p.vehicle_id, p.observed_at,
            {"stopped_away": float(still and away)}, "brt_vehicle", p.vehicle_id, p.district,
            p.lon, p.lat,
            {"vehicle_id": p.vehicle_id, "trip_id": p.trip_id, "speed": p.speed,
             "current_status": p.current_status, "stop_id": p.stop_id,
             "observed_at": p.observed_at.isoformat()})


def _vehicle(record: dict[str, Any]) -> VehiclePosition:
    start = record.get("start_date")
    return VehiclePosition(**{
        **record, "observed_at": datetime.fromisoformat(record["observed_at"]),
        "start_date": date.fromisoformat(start) if start else None})
