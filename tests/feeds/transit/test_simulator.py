"""The BRT simulator, end to end through the real GTFS-Realtime parser and headways.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feeds.transit.gtfs_realtime import parse_feed
from feeds.transit.gtfs_records import GtfsFeed
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.headways import (
    Arrival,
    ArrivalDetector,
    HeadwayThresholds,
    arrivals_from_trip_updates,
    observed_headways,
)
from feeds.transit.polyline import haversine_m
from feeds.transit.realtime_records import VehiclePosition
from feeds.transit.schedule import Timetable
from feeds.transit.sim_faults import Breakdown, Bunching, Fault, Gap
from feeds.transit.simulator import BrtSimulator

PACK_BRT = Path(__file__).resolve().parents[3] / "packs" / "hanoi" / "brt"


@pytest.fixture(scope="module")
def feed() -> GtfsFeed:
    return load_gtfs(PACK_BRT)


def _local(feed: GtfsFeed, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=feed.timezone)  # a Monday


@dataclass
class Run:
    simulator: BrtSimulator
    positions: list[VehiclePosition] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)


def _run(feed: GtfsFeed, faults: Sequence[Fault] = (), minutes: int = 40, seed: int = 2016
         ) -> Run:
    """Poll the simulator every 10 s from 07:00 local, as the runner would."""
    clock = [_local(feed, 7)]
    run = Run(BrtSimulator(feed, now=lambda: clock[0], faults=faults, seed=seed))
    detector = ArrivalDetector(lambda trip: [(c.stop_sequence, c.stop_id)
                                             for c in feed.stop_times[trip]])
    while clock[0] < _local(feed, 7, minutes):
        parsed = parse_feed(run.simulator.vehicle_positions())
        assert parsed.rejected == []
        run.positions.extend(parsed.vehicles)
        run.arrivals.extend(detector.update(parsed.vehicles))
        clock[0] += timedelta(seconds=10)
    return run


def _classified(feed: GtfsFeed, run: Run, kind: str) -> list[tuple[int | None, str, str]]:
    table = Timetable(feed, _local(feed, 7).date())
    limits = HeadwayThresholds()
    found = []
    for h in observed_headways(run.arrivals):
        scheduled = table.headway_at_instant("BRT01", h.direction_id, h.stop_id, h.at)
        if scheduled and limits.classify(h.seconds, scheduled) == kind:
            found.append((h.direction_id, h.stop_id, f"{h.leader}/{h.follower}"))
    return found


def test_forty_minutes_of_peak_service_keep_the_schedule(feed: GtfsFeed) -> None:
    run = _run(feed)
    assert len(run.simulator.buses) == 24
    last = run.positions[-1].observed_at
    on_trips = {p.vehicle_id for p in run.positions if p.observed_at == last}
    assert 14 <= len(on_trips) <= 22
    headways = [h.seconds for h in observed_headways(run.arrivals)]
    assert len(headways) > 200
    assert 270 < sum(headways) / len(headways) < 340  # a 5-minute peak headway
    assert _classified(feed, run, "bunching") == [] and _classified(feed, run, "gap") == []
    # Every reported position lies on the line's path.
    line = run.simulator.lines[0].path
    assert max(haversine_m(p.lon, p.lat, *line.point_at(line.locate(p.lon, p.lat))[:2])
               for p in run.positions) < 60


def test_injected_bunching_is_detected(feed: GtfsFeed) -> None:
    run = _run(feed, [Bunching(direction_id=1, at=_local(feed, 7, 5))])
    [applied] = run.simulator.applied
    assert (applied.kind, applied.direction_id) == ("bunching", 1)
    bunched = _classified(feed, run, "bunching")
    assert len({stop for _, stop, _ in bunched}) >= 5
    assert all(direction == 1 and str(applied.vehicle_id) in pair for direction, _, pair in bunched)


def test_an_injected_gap_is_detected(feed: GtfsFeed) -> None:
    run = _run(feed, [Gap(direction_id=0, at=_local(feed, 7, 2))])
    gaps = _classified(feed, run, "gap")
    assert len({stop for _, stop, _ in gaps}) >= 5
    assert {direction for direction, _, _ in gaps} == {0}


def test_a_broken_down_bus_stands_between_stations(feed: GtfsFeed) -> None:
    run = _run(feed, [Breakdown(direction_id=1, at=_local(feed, 7, 5), duration_s=600)])
    [applied] = run.simulator.applied
    stations = list(feed.stops.values())
    stranded = [p for p in run.positions if p.vehicle_id == applied.vehicle_id
                and p.speed == 0 and p.current_status == "IN_TRANSIT_TO"
                and min(haversine_m(p.lon, p.lat, s.lon or 0, s.lat or 0) for s in stations) > 150]
    assert 55 <= len(stranded) <= 61  # ten minutes of 10-second reports
    assert len({(p.lon, p.lat) for p in stranded}) == 1


def test_the_same_seed_and_clock_give_the_same_bytes(feed: GtfsFeed) -> None:
    def snapshot(seed: int) -> bytes:
        return BrtSimulator(feed, seed=seed, now=lambda: _local(feed, 8)).vehicle_positions()

    assert snapshot(1) == snapshot(1)
    assert snapshot(1) != snapshot(2)


def test_peak_crowding_and_quiet_middays(feed: GtfsFeed) -> None:
    clock = [_local(feed, 8)]
    simulator = BrtSimulator(feed, now=lambda: clock[0])
    crowded = {"STANDING_ROOM_ONLY", "CRUSHED_STANDING_ROOM_ONLY", "FULL"}
    peak = parse_feed(simulator.vehicle_positions()).vehicles
    towards_centre = [v for v in peak if v.direction_id == 1 and v.occupancy_status in crowded]
    assert len(towards_centre) >= 3
    clock[0] = _local(feed, 12, 30)
    midday = parse_feed(simulator.vehicle_positions()).vehicles
    assert midday and not [v for v in midday if v.occupancy_status in crowded]


def test_no_service_at_night(feed: GtfsFeed) -> None:
    for night in (_local(feed, 3), _local(feed, 23)):
        simulator = BrtSimulator(feed, now=lambda: night)  # noqa: B023 - used at once
        assert parse_feed(simulator.vehicle_positions()).vehicles == []


def test_trip_updates_report_the_arrivals_the_positions_showed(feed: GtfsFeed) -> None:
    run = _run(feed, minutes=30)
    updates = parse_feed(run.simulator.trip_updates())
    assert updates.rejected == [] and updates.trip_updates
    made = arrivals_from_trip_updates(updates.trip_updates, run.simulator.clock)
    seen = {(a.vehicle_id, a.trip_start, a.stop_id): a.at for a in run.arrivals}
    matched = [(a, seen[a.vehicle_id, a.trip_start, a.stop_id]) for a in made
               if (a.vehicle_id, a.trip_start, a.stop_id) in seen]
    assert len(matched) > 100
    # Positions come every 10 s, so an arrival is seen at most one report late.
    assert all(timedelta(0) <= seen_at - a.at <= timedelta(seconds=10) for a, seen_at in matched)


def test_faults_can_be_injected_on_demand(feed: GtfsFeed) -> None:
    clock = [_local(feed, 7, 10)]
    simulator = BrtSimulator(feed, now=lambda: clock[0])
    simulator.vehicle_positions()
    simulator.inject(Gap(direction_id=1))
    clock[0] += timedelta(seconds=1)
    simulator.vehicle_positions()
    [applied] = simulator.applied
    assert applied.at == _local(feed, 7, 10)
