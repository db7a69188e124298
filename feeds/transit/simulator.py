"""A BRT line simulator: buses on headways, dwell and crowding, faults, GTFS-Realtime bytes out.

It drives the line of a static feed (the pack's `brt/` folder) event by event: dispatches
from each terminal at the frequencies.txt headways, running times with peak congestion and
noise, dwell that grows with boardings, riders arriving at random at each stop. Faults can be
injected on demand or scheduled. It is deterministic for a seed: every random draw happens
while processing events in time order, never while reporting.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import partial

from feeds.simulation import poisson
from feeds.transit.gtfs_records import GtfsFeed
from feeds.transit.rt_encode import trip_message, vehicle_message
from feeds.transit.schedule import service_day_start
from feeds.transit.sim_bus import CRUSH, Bus, BusReport, report
from feeds.transit.sim_faults import AppliedFault, Breakdown, Bunching, Fault, Gap
from feeds.transit.sim_line import (
    PEAK_HOURS,
    alight_probability,
    boarding_rate,
    dispatch_times,
    line_directions,
)

LAYOVER_S = 240.0  # minimum rest at a terminal between trips
DWELL_BASE_S, BOARD_S, ALIGHT_S = 8.0, 1.5, 0.8  # level boarding, card taps at the door


class BrtSimulator:
    """Simulates one BRT route and reports it as GTFS-Realtime FeedMessages."""

    def __init__(self, feed: GtfsFeed, route_id: str = "BRT01", buses: int = 24,
                 seed: int = 2016, *, now: Callable[[], datetime],
                 faults: Sequence[Fault] = (), riders_per_day: float = 13_000) -> None:
        self._feed = feed
        self.lines = line_directions(feed, route_id)
        self._rng = random.Random(seed)
        self._now = now
        self._riders = riders_per_day
        self._events: list[tuple[float, int, Callable[[float], None]]] = []
        self._order = itertools.count()
        self._cancelled = dict.fromkeys(self.lines, 0)
        # (direction, stop index) -> when the last bus arrived there (riders since wait on)
        self._last_board: dict[tuple[int, int], float] = {}
        # (direction, stop index) -> when the last bus there leaves
        self._left: dict[tuple[int, int], float] = {}
        self.applied: list[AppliedFault] = []
        day = now().astimezone(feed.timezone).date()
        self._clock = service_day_start(day, feed.timezone).timestamp()
        terminals = sorted(self.lines)
        self.buses = [Bus(f"BRT{i + 1:02d}", terminals[i % len(terminals)], self._clock)
                      for i in range(buses)]
        self._plan_day(day)
        for fault in faults:
            self.inject(fault)

    def _at(self, when: float, action: Callable[[float], None]) -> None:
        heapq.heappush(self._events, (when, next(self._order), action))

    def _plan_day(self, day: date, _: float = 0.0) -> None:
        """Queue a service day's dispatches, and the planning of the day after."""
        for direction, line in self.lines.items():
            for when in dispatch_times(self._feed, line, day):
                self._at(when.timestamp(), partial(self._dispatch, direction))
        tomorrow = day + timedelta(days=1)
        self._at(service_day_start(tomorrow, self._feed.timezone).timestamp() + 3 * 3600,
                 partial(self._plan_day, tomorrow))

    def inject(self, fault: Fault) -> None:
        """Apply a fault at its time, or at the current simulated time when it has none."""
        when = fault.at.timestamp() if fault.at is not None else self._clock
        self._at(max(when, self._clock), partial(self._apply, fault))

    def advance_to(self, when: datetime) -> None:
        """Run every event up to `when` (never backwards)."""
        target = when.timestamp()
        while self._events and self._events[0][0] <= target:
            at, _, action = heapq.heappop(self._events)
            self._clock = at
            action(at)
        self._clock = max(self._clock, target)

    @property
    def clock(self) -> datetime:
        """The simulated time reached."""
        return datetime.fromtimestamp(self._clock, UTC)

    def _hour(self, at: float) -> int:
        return datetime.fromtimestamp(at, self._feed.timezone).hour

    def _dispatch(self, direction: int, at: float) -> None:
        if self._cancelled[direction] > 0:
            self._cancelled[direction] -= 1
            return
        waiting = [b for b in self.buses if b.direction is None and b.terminal == direction]
        if not waiting:
            self._at(at + 60, partial(self._dispatch, direction))  # no bus in yet: wait for one
            return
        bus = min(waiting, key=lambda b: (b.ready_at, b.vehicle_id))
        if bus.ready_at > at:
            self._at(bus.ready_at, partial(self._dispatch, direction))
            return
        bus.start_trip(direction, at)
        self._arrive(bus, at)

    def _arrive(self, bus: Bus, at: float) -> None:
        direction = bus.direction
        if direction is None:
            return
        line, k = self.lines[direction], bus.index
        alight = _binomial(self._rng, bus.load, alight_probability(line, k, self._hour(at)))
        bus.load -= alight
        if k == len(line.stops) - 1:
            others = [d for d in sorted(self.lines) if d != direction] or [direction]
            bus.finish_trip(at, at + LAYOVER_S, others[0])
            return
        since = at - self._last_board.get((direction, k), at - 600)
        self._last_board[direction, k] = at
        wanted = poisson(self._rng, boarding_rate(self._riders, line, k, self._hour(at)) * since)
        board = min(wanted, CRUSH - bus.load)
        bus.load += board
        dwell = min(max(DWELL_BASE_S + BOARD_S * board + ALIGHT_S * alight, 12.0), 120.0)
        # Buses leave a station in the order they came: the lane has no room to overtake.
        leave = max(at + dwell + bus.hold_s, self._left.get((direction, k), at) + 5.0)
        self._left[direction, k], bus.hold_s = leave, 0.0
        bus.stop_at(at, leave)
        self._at(leave, partial(self._depart, bus))

    def _depart(self, bus: Bus, at: float) -> None:
        if bus.direction is None:
            return
        line, k = self.lines[bus.direction], bus.index
        congestion = 1.08 if self._hour(at) in PEAK_HOURS else 0.97
        run = line.run_s(k) * congestion * self._rng.lognormvariate(0.0, 0.06)
        bus.move(at, run, line.stops[k].distance_m, line.stops[k + 1].distance_m)
        self._at(bus.leg[1], partial(self._arrive, bus))

    def _apply(self, fault: Fault, at: float) -> None:
        on_line = sorted((b for b in self.buses if b.direction == fault.direction_id),
                         key=lambda b: (b.start, b.vehicle_id))
        when = datetime.fromtimestamp(at, UTC)
        if isinstance(fault, Gap):
            self._cancelled[fault.direction_id] += fault.departures
            self.applied.append(AppliedFault(when, "gap", fault.direction_id, None))
            return
        count = len(self.lines[fault.direction_id].stops)
        # A bus a third of the way along, with a follower, shows bunching downstream.
        pairs = [(b, f) for b, f in itertools.pairwise(on_line) if b.index < count - 4]
        leader, follower = min(pairs, key=lambda p: abs(p[0].index - count / 3),
                               default=(None, None))
        target = leader if isinstance(fault, Bunching) else next(
            (b for b in reversed(on_line) if b.index < count - 2), None)
        if target is None:
            self._at(at + 60, partial(self._apply, fault))  # nobody to apply it to yet
            return
        if isinstance(fault, Bunching) and follower is not None:
            target.hold_s += fault.hold_s or _behind(target, follower)
        elif isinstance(fault, Breakdown):
            target.breakdown_s += fault.duration_s
        self.applied.append(AppliedFault(when, type(fault).__name__.lower(),
                                         fault.direction_id, target.vehicle_id))

    def reports(self) -> list[BusReport]:
        """What every bus on a trip reports, once the simulation has reached the clock's now."""
        self.advance_to(self._now())
        return [report(b, self.lines[b.direction], self._clock, self._feed.timezone)
                for b in self.buses if b.direction is not None]

    def vehicle_positions(self) -> bytes:
        """A VehiclePositions FeedMessage for now, serialised."""
        return vehicle_message(self.reports(), self._clock)

    def trip_updates(self) -> bytes:
        """A TripUpdates FeedMessage for now, serialised."""
        return trip_message(self.reports(), self._clock)

    async def fetch_vehicle_positions(self) -> bytes:
        """The vehicle positions source of a feed."""
        return self.vehicle_positions()

    async def fetch_trip_updates(self) -> bytes:
        """The trip updates source of a feed."""
        return self.trip_updates()


def _behind(leader: Bus, follower: Bus) -> float:
    """How long a follower runs behind its leader, at the last stop both have reached."""
    j = min(len(follower.times), len(leader.times)) - 1
    return max(follower.times[j][0] - leader.times[j][0], 0.0)


def _binomial(rng: random.Random, n: int, p: float) -> int:
    return n if p >= 1 else sum(1 for _ in range(n) if rng.random() < p)
