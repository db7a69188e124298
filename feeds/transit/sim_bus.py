"""A simulated bus: its state as events move it, and what it reports at an instant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from feeds.transit.schedule import service_day_start
from feeds.transit.sim_line import LineDirection

SEATS, CAPACITY, CRUSH = 30, 90, 115  # 90 places, 115 squeezed in at peak (domain notes)
INCOMING_S = 20.0  # reported INCOMING_AT this long before reaching a stop


@dataclass(slots=True)
class Bus:
    """One bus: at a terminal (direction None) or on a trip, dwelling or between stops."""

    vehicle_id: str
    terminal: int  # the direction it serves next when laid over
    ready_at: float
    direction: int | None = None
    start: float = 0.0  # when its trip left the first stop
    index: int = 0  # stop dwelt at, or stop heading for
    dwelling: bool = False
    leg: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # t0, t1, from_m, to_m
    stall: tuple[float, float] = (0.0, 0.0)  # standing still between stations (from, until)
    load: int = 0
    times: list[tuple[float, float]] = field(default_factory=list)  # (arrival, departure)
    hold_s: float = 0.0  # added to its next dwell (a bunching fault)
    breakdown_s: float = 0.0  # stall on its next leg (a breakdown fault)

    def start_trip(self, direction: int, at: float) -> None:
        """Leave the terminal on a trip of a direction."""
        self.direction, self.start, self.index, self.times = direction, at, 0, []

    def stop_at(self, arrival: float, departure: float) -> None:
        """Dwell at the stop it reached."""
        self.dwelling = True
        self.times.append((arrival, departure))

    def move(self, at: float, run_s: float, from_m: float, to_m: float) -> None:
        """Leave a stop for the next one; a pending breakdown stalls it halfway."""
        stall, self.breakdown_s = self.breakdown_s, 0.0
        halfway = at + run_s / 2
        self.stall = (halfway, halfway + stall) if stall else (0.0, 0.0)
        self.leg = (at, at + run_s + stall, from_m, to_m)
        self.index += 1
        self.dwelling = False

    def finish_trip(self, at: float, ready_at: float, next_direction: int) -> None:
        """Reach the terminus, set everyone down and lay over."""
        self.times.append((at, at))
        self.load, self.direction, self.dwelling = 0, None, False
        self.terminal, self.ready_at = next_direction, ready_at


class BusReport(NamedTuple):
    """What a bus on a trip reports: position, progress, crowding and its calls' times."""

    vehicle_id: str
    trip_id: str
    route_id: str
    direction_id: int
    start_date: str  # YYYYMMDD
    start_time: str  # HH:MM:SS after the service day start
    lon: float
    lat: float
    bearing: float
    speed: float
    stop_sequence: int
    stop_id: str
    status: str
    occupancy: str
    occupancy_percentage: int
    calls: tuple[tuple[int, str, float, float], ...]  # (sequence, stop, arrival, departure)


def occupancy_status(load: int) -> str:
    """GTFS-Realtime OccupancyStatus name for a number of riders on board."""
    if load <= 5:
        return "EMPTY"
    if load < SEATS * 0.7:
        return "MANY_SEATS_AVAILABLE"
    if load < SEATS:
        return "FEW_SEATS_AVAILABLE"
    if load < CAPACITY:
        return "STANDING_ROOM_ONLY"
    return "CRUSHED_STANDING_ROOM_ONLY" if load < CRUSH else "FULL"


def _distance(bus: Bus, now: float) -> tuple[float, float]:
    """Distance along the path and speed (m/s) of a bus between stops."""
    t0, t1, d0, d1 = bus.leg
    s0, s1 = bus.stall
    moving = max((t1 - t0) - (s1 - s0), 1e-6)
    paused = max(0.0, min(now, s1) - s0) if s1 > s0 and now > s0 else 0.0
    fraction = min(max((now - t0 - paused) / moving, 0.0), 1.0)
    speed = 0.0 if s0 <= now < s1 else (d1 - d0) / moving
    return d0 + fraction * (d1 - d0), speed


def _calls(bus: Bus, line: LineDirection) -> tuple[tuple[int, str, float, float], ...]:
    """Times made at past stops, then predicted ones from the schedule's running times."""
    stops = line.stops
    calls = [(stops[j].sequence, stops[j].stop_id, a, d) for j, (a, d) in enumerate(bus.times)]
    if bus.dwelling:
        next_index, ready = bus.index + 1, bus.times[-1][1]
    else:
        next_index, ready = bus.index, bus.leg[1] - line.run_s(bus.index - 1)
    for j in range(next_index, len(stops)):
        arrival = ready + line.run_s(j - 1)
        ready = arrival + stops[j].depart_s - stops[j].arrive_s
        calls.append((stops[j].sequence, stops[j].stop_id, arrival, ready))
    return tuple(calls)


def report(bus: Bus, line: LineDirection, now: float, zone: ZoneInfo) -> BusReport:
    """What one bus on a trip reports at `now`."""
    stop = line.stops[bus.index]
    if bus.dwelling:
        along, speed, status = stop.distance_m, 0.0, "STOPPED_AT"
    else:
        along, speed = _distance(bus, now)
        status = "INCOMING_AT" if bus.leg[1] - now < INCOMING_S else "IN_TRANSIT_TO"
    lon, lat, bearing = line.path.point_at(along)
    if bus.dwelling:
        lon, lat = stop.lon, stop.lat
    started = datetime.fromtimestamp(bus.start, zone)
    day_start = service_day_start(started.date(), zone)
    offset = int((datetime.fromtimestamp(bus.start, UTC) - day_start).total_seconds())
    clock = f"{offset // 3600:02d}:{offset % 3600 // 60:02d}:{offset % 60:02d}"
    return BusReport(
        bus.vehicle_id, line.trip_id, line.route_id, line.direction_id,
        started.strftime("%Y%m%d"), clock, lon, lat, bearing, speed, stop.sequence,
        stop.stop_id, status, occupancy_status(bus.load), round(100 * bus.load / CAPACITY),
        _calls(bus, line))
