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
from datetime import datetime
from typing import NamedTuple

from feeds.transit.realtime_records import TripUpdate, VehiclePosition

# (route_id, direction_id, stop_id, at) -> scheduled headway in seconds, None when unknown
ScheduledHeadway = Callable[[str | None, int | None, str, datetime], float | None]
# trip_id -> its calls as (stop_sequence, stop_id), in order
TripCalls = Callable[[str], Sequence[tuple[int, str]]]


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
    """

    def __init__(self, calls: TripCalls | None = None) -> None:
        self._calls = calls
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

    Each headway is judged against the schedule in force at its follower's arrival; SWT is
    taken over those scheduled headways. Headways with no scheduled one (outside service)
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
                 if (s := scheduled(route, direction, stop, h.at)) is not None]
        kinds = [limits.classify(h, s) for h, s in pairs]
        summaries.append(HeadwaySummary(
            route, direction, stop, len(actual), statistics.fmean(actual), regularity_cv(actual),
            kinds.count("bunching"), kinds.count("gap"),
            average_wait([h for h, _ in pairs]), average_wait([s for _, s in pairs]),
            excess_wait([h for h, _ in pairs], [s for _, s in pairs])))
    return summaries
