"""The parking simulator follows a Hanoi day and stays within each car park's capacity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feeds.clock import Clock
from feeds.parking import parse_payload
from feeds.simulator import ParkingSimulator, profile_share
from tests.clock import HOURS


def _sites(n: int) -> list[dict[str, object]]:
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [105.80 + i * 0.001, 21.02]},
            "properties": {"id": f"site-{i}", "capacity": {"car": 200, "motorbike": 600},
                           "opening_hours": "Mo-Su 06:00-22:00"},
        }
        for i in range(n)
    ]


def _occupancy_at(local_hour: int, day: int = 23) -> float:
    # Hanoi is UTC+7 all year; 23 November 2026 is a Monday, the 28th a Saturday.
    stamp = datetime(2026, 11, day, local_hour, tzinfo=UTC) - timedelta(hours=7)
    sim = ParkingSimulator(_sites(30), now=lambda: stamp)
    parsed = parse_payload(sim.snapshot_bytes())
    assert parsed.rejected == []
    capacity = sum(o.capacity for o in parsed.observations)
    occupied = sum(o.occupied for o in parsed.observations)
    return occupied / capacity


def test_mid_morning_is_busier_than_early_morning() -> None:
    assert _occupancy_at(10) > 0.7
    assert _occupancy_at(6) < 0.35


def test_weekend_mornings_are_quieter_and_evenings_busier_than_weekdays() -> None:
    assert _occupancy_at(9, day=28) < _occupancy_at(9) - 0.1
    assert _occupancy_at(19, day=28) > _occupancy_at(19)


def test_closed_car_parks_report_closed_and_empty() -> None:
    stamp = datetime(2026, 11, 23, 16, tzinfo=UTC)  # 23:00 in Hanoi
    parsed = parse_payload(ParkingSimulator(_sites(3), now=lambda: stamp).snapshot_bytes())
    assert {o.status for o in parsed.observations} == {"closed"}
    assert {o.occupied for o in parsed.observations} == {0}


def test_consecutive_readings_move_but_stay_close() -> None:
    clock = [datetime(2026, 11, 23, 3, tzinfo=UTC)]
    sim = ParkingSimulator(_sites(10), now=lambda: clock[0])
    first = parse_payload(sim.snapshot_bytes()).observations
    clock[0] += timedelta(seconds=2)
    second = parse_payload(sim.snapshot_bytes()).observations
    changes = [abs(a.occupied - b.occupied) for a, b in zip(first, second, strict=True)]
    assert any(changes)
    assert max(changes) <= 0.1 * 600


def test_the_daily_profile_is_continuous_across_midnight() -> None:
    assert abs(profile_share("car", 23.999) - profile_share("car", 0.0)) < 0.01


@pytest.mark.parametrize("hour", sorted(HOURS))
def test_a_filling_fault_fills_an_open_car_park_and_leaves_a_shut_one_shut(hour: str) -> None:
    clock = Clock.pinned(HOURS[hour])
    sim = ParkingSimulator(_sites(1), now=clock.now)
    sim.fill("site-0", minutes=10)
    clock.advance(6 * 60)  # past the first half of the fault, when it is full
    [site] = sim.snapshot()["sites"]
    if hour == "day":  # 10:00: open, and full from the fault
        assert site["open"] and all(v["occupied"] == v["capacity"]
                                    for v in site["vehicles"].values())
    else:  # 02:30, outside 06:00-22:00: a fault does not open it
        assert not site["open"] and all(v["occupied"] == 0 for v in site["vehicles"].values())
