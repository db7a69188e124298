"""Headways at stops from realtime data: arrivals, regularity, bunching, gaps, excess wait.

The formulas (docs domain.md, after the Transit Capacity and Quality of Service Manual):

- Headway h at a stop: the time between consecutive arrivals of vehicles of one route and
  direction at that stop.
- Regularity: cv = sd(h) / mean(h), with the population standard deviation (it describes the
  headways seen in the window, it does not estimate a wider population).
- Bunching: h < bunching_ratio x scheduled headway, or h < bunching_floor_s whatever the
  schedule; gap: h > gap_ratio x scheduled headway. Defaults 25 %, 2 minutes and 2x.
- Average wait of passengers arriving at random: AWT = sum(h^2) / (2 sum(h)) over actual
  headways; SWT is the same over the scheduled headways; excess wait EWT = AWT - SWT.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from feeds.transit.realtime_records import TripUpdate, VehiclePosition

# (route_id, direction_id, stop_id, at) -> scheduled headway in seconds, None when unknown
ScheduledHeadway = Callable[[str | None, int | None, str, datetime], float | None]
# trip_id -> its calls as (stop_sequence, stop_id), in order
TripCalls = Callable[[str], Sequence[tuple[int, str]]]
# a vehicle's report -> when its trip instance left its first stop, None when unknown
TripStart = Callable[[VehiclePosition], datetime | None]


class Arrival(NamedTuple):
    """A vehicle reached a stop at `at`."""

    route_id: str | None
    direction_id: int | None
    stop_id: str
    vehicle_id: str | None
    trip_id: str | None
    trip_start: str | None  # start date and time: tells apart instances of one trip_id
    at: datetime


class ArrivalDetector:
    """Turns successive positions of each vehicle into arrivals at stops.

    A vehicle arrives at a stop when it is first seen STOPPED_AT it, or when its
    current_stop_sequence moves past it without a STOPPED_AT report; then the arrival time
    is interpolated evenly between the two reports (error at most half the report interval).

    A trip instance first seen already past its first stops (a short dwell at the terminal
    fell between two reports) passed them after it started: with `trip_start` (when the
    instance left its first stop, the GTFS-Realtime start date and time) the first stop is
    dated at that start and the others spread evenly up to the report. Only for an instance
    that started at most `catch_up_s` before the report and after the vehicle's previous
    report: a watcher that starts mid-trip does not guess the stops it never saw.
    """

    def __init__(self, calls: TripCalls | None = None,
                 trip_start: TripStart | None = None, catch_up_s: float = 300.0) -> None:
        self._calls = calls
        self._trip_start = trip_start
        self._catch_up_s = catch_up_s
        self._last: dict[str, VehiclePosition] = {}

    def update(self, positions: Iterable[VehiclePosition]) -> list[Arrival]:
        """Feed the next reports; return the arrivals they reveal."""
        arrivals: list[Arrival] = []
        for now in sorted(positions, key=lambda p: p.observed_at):
            before = self._last.get(now.vehicle_id)
            if before is not None and now.observed_at <= before.observed_at:
                continue  # a report repeated by the next snapshot
            self._last[now.vehicle_id] = now
            if now.current_stop_sequence is None or not now.trip_id:
                continue
            if before is not None and before.current_stop_sequence is not None \
                    and _instance(before) == _instance(now):
                arrivals.extend(self._passed(before, before.current_stop_sequence,
                                             now, now.current_stop_sequence))
                if before.current_status == "STOPPED_AT" \
                        and before.current_stop_sequence == now.current_stop_sequence:
                    continue  # still at the stop where its arrival was counted
            else:
                arrivals.extend(self._started(before, now, now.current_stop_sequence))
            if now.current_status == "STOPPED_AT" and now.stop_id:
                arrivals.append(_arrival(now, now.stop_id, now.observed_at))
        return arrivals

    def _passed(self, before: VehiclePosition, first: int, now: VehiclePosition, last: int
                ) -> list[Arrival]:
        """Stops the vehicle went by between two reports without being seen stopped there."""
        if before.current_status == "STOPPED_AT":
            first += 1  # that arrival was counted when it was seen stopped
        if first >= last:
            return []
        if self._calls is not None and now.trip_id:
            passed = [stop for seq, stop in self._calls(now.trip_id) if first <= seq < last]
        else:
            # Without the trip's calls only the stop it was heading for is known.
            passed = [before.stop_id] if before.stop_id and first == \
                before.current_stop_sequence else []
        span = now.observed_at - before.observed_at
        return [_arrival(now, stop, before.observed_at + span * (i + 1) / (len(passed) + 1))
                for i, stop in enumerate(passed)]


    def _started(self, before: VehiclePosition | None, now: VehiclePosition, current: int
                 ) -> list[Arrival]:
        """Stops a trip instance passed between its start and its first report."""
        if self._calls is None or self._trip_start is None or not now.trip_id:
            return []
        start = self._trip_start(now)
        if start is None or start > now.observed_at \
                or (now.observed_at - start).total_seconds() > self._catch_up_s \
                or (before is not None and start <= before.observed_at):
            return []
        passed = [stop for seq, stop in self._calls(now.trip_id) if seq < current]
        span = (now.observed_at - start) / max(len(passed), 1)
        return [_arrival(now, stop, start + span * i) for i, stop in enumerate(passed)]


def _instance(position: VehiclePosition) -> tuple[str | None, object, str | None]:
    return position.trip_id, position.start_date, position.start_time


def _arrival(position: VehiclePosition, stop_id: str, at: datetime) -> Arrival:
    start = f"{position.start_date or ''} {position.start_time or ''}".strip() or None
    return Arrival(position.route_id, position.direction_id, stop_id, position.vehicle_id,
                   position.trip_id, start, at)


def arrivals_from_trip_updates(updates: Iterable[TripUpdate], now: datetime) -> list[Arrival]:
    """Arrivals that trip updates report as made (time at or before `now`), skips excluded."""
    arrivals = []
    for trip in updates:
        start = f"{trip.start_date or ''} {trip.start_time or ''}".strip() or None
        for stop in trip.stop_time_updates:
            at = stop.arrival_time or stop.departure_time
            if at is None or at > now or not stop.stop_id \
                    or stop.schedule_relationship in ("SKIPPED", "NO_DATA"):
                continue
            arrivals.append(Arrival(trip.route_id, trip.direction_id, stop.stop_id,
                                    trip.vehicle_id, trip.trip_id, start, at))
    return arrivals


class Headway(NamedTuple):
    """The interval between two consecutive arrivals at one stop, route and direction."""

    route_id: str | None
    direction_id: int | None
    stop_id: str
    leader: str | None  # vehicle ids
    follower: str | None
    at: datetime  # the follower's arrival
    seconds: float


def observed_headways(arrivals: Iterable[Arrival]) -> list[Headway]:
    """Headways per stop and direction; a vehicle's repeated arrival keeps its last report."""
    unique: dict[tuple[object, ...], Arrival] = {}
    for arrival in arrivals:
        unique[arrival[:6]] = arrival
    groups: defaultdict[tuple[str | None, int | None, str], list[Arrival]] = defaultdict(list)
    for arrival in unique.values():
        groups[arrival.route_id, arrival.direction_id, arrival.stop_id].append(arrival)
    headways: list[Headway] = []
    for (route, direction, stop), group in groups.items():
        group.sort(key=lambda a: a.at)
        headways.extend(
            Headway(route, direction, stop, a.vehicle_id, b.vehicle_id, b.at,
                    (b.at - a.at).total_seconds())
            for a, b in zip(group, group[1:], strict=False))
    return headways


def regularity_cv(headways: Sequence[float]) -> float | None:
    """Coefficient of variation sd(h) / mean(h); None for fewer than two headways."""
    if len(headways) < 2 or statistics.fmean(headways) <= 0:
        return None
    return statistics.pstdev(headways) / statistics.fmean(headways)


def average_wait(headways: Sequence[float]) -> float | None:
    """Mean wait of passengers arriving at random: sum(h^2) / (2 sum(h)); None if no time."""
    total = sum(headways)
    return sum(h * h for h in headways) / (2 * total) if total > 0 else None


def excess_wait(actual: Sequence[float], scheduled: Sequence[float]) -> float | None:
    """Excess wait time EWT = AWT(actual headways) - SWT(scheduled headways)."""
    awt, swt = average_wait(actual), average_wait(scheduled)
    return None if awt is None or swt is None else awt - swt


@dataclass(frozen=True, slots=True)
class HeadwayThresholds:
    """When a headway counts as bunching or as a gap (configure per city)."""

    bunching_ratio: float = 0.25
    bunching_floor_s: float = 120.0
    gap_ratio: float = 2.0

    def classify(self, seconds: float, scheduled_s: float) -> str:
        """"bunching", "gap" or "normal" for an observed headway against the scheduled one."""
        if seconds < self.bunching_ratio * scheduled_s or seconds < self.bunching_floor_s:
            return "bunching"
        if seconds > self.gap_ratio * scheduled_s:
            return "gap"
        return "normal"


def expected_headway(scheduled: ScheduledHeadway, route_id: str | None,
                     direction_id: int | None, stop_id: str, leader_at: datetime,
                     follower_at: datetime) -> float | None:
    """The scheduled headway in force between two arrivals: the larger of the scheduled
    headways at the leader's and at the follower's arrival (the leader ran to the sparser
    schedule when the frequency changed between them); None when neither is scheduled."""
    known = [s for at in (leader_at, follower_at)
             if (s := scheduled(route_id, direction_id, stop_id, at)) is not None]
    return max(known) if known else None


class HeadwaySummary(NamedTuple):
    """Service at one stop in one direction over the headways given."""

    route_id: str | None
    direction_id: int | None
    stop_id: str
    headway_count: int
    mean_s: float
    cv: float | None
    bunching: int
    gaps: int
    awt_s: float | None
    swt_s: float | None
    ewt_s: float | None


def summarise(headways: Iterable[Headway], scheduled: ScheduledHeadway,
              thresholds: HeadwayThresholds | None = None) -> list[HeadwaySummary]:
    """Per stop and direction: mean, cv, bunching and gap counts, AWT, SWT and EWT.

    Each headway is judged against the schedule in force over it (`expected_headway`); SWT
    is taken over those scheduled headways. Headways with no scheduled one (outside service)
    count in the mean and cv but not in bunching, gaps or EWT.
    """
    limits = thresholds or HeadwayThresholds()
    groups: defaultdict[tuple[str | None, int | None, str], list[Headway]] = defaultdict(list)
    for headway in headways:
        groups[headway.route_id, headway.direction_id, headway.stop_id].append(headway)
    summaries = []
    for (route, direction, stop), group in sorted(groups.items(), key=lambda g: str(g[0])):
        actual = [h.seconds for h in group]
        pairs = [(h.seconds, s) for h in group
                 if (s := expected_headway(scheduled, route, direction, stop,
                                           h.at - timedelta(seconds=h.seconds), h.at))
                 is not None]
        kinds = [limits.classify(h, s) for h, s in pairs]
        summaries.append(HeadwaySummary(
            route, direction, stop, len(actual), statistics.fmean(actual), regularity_cv(actual),
            kinds.count("bunching"), kinds.count("gap"),
            average_wait([h for h, _ in pairs]), average_wait([s for _, s in pairs]),
            excess_wait([h for h, _ in pairs], [s for _, s in pairs])))
    return summaries
