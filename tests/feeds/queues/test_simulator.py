"""The queue simulator: office hours, peaks, determinism, and surges that measures can see."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from feeds.queues import measures as m
from feeds.queues.feed import QueuesFeed
from feeds.queues.model import CounterSnapshot, TicketEvent
from feeds.queues.parse import ParsedQueues, parse_payload
from feeds.queues.points import ServicePoint, load_service_points
from feeds.queues.simulator import QueueSimulator, Surge

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = datetime(2026, 11, 23, tzinfo=HANOI)  # a Monday, local midnight


class Clock:
    """A hand-driven clock for the simulator."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _run(
    points: dict[str, ServicePoint], until: datetime, step: timedelta = timedelta(hours=1),
    seed: int = 2022, surges: tuple[Surge, ...] = (),
) -> bytes:
    clock = Clock(MONDAY)
    sim = QueueSimulator(points.values(), seed=seed, now=clock, surges=surges)
    chunks = []
    while clock.now < until:
        clock.now = min(clock.now + step, until)
        chunks.append(sim.batch_bytes())
    return b"".join(chunks)


@pytest.fixture(scope="module")
def pack_points(pack_features: list[dict[str, Any]]) -> dict[str, ServicePoint]:
    return load_service_points(pack_features)


@pytest.fixture(scope="module")
def week(pack_points: dict[str, ServicePoint]) -> ParsedQueues:
    return parse_payload(_run(pack_points, MONDAY + timedelta(days=7)), pack_points)


def _events(parsed: ParsedQueues, kind: str | None = None) -> list[TicketEvent]:
    return [o for o in parsed.observations
            if isinstance(o, TicketEvent) and (kind is None or o.event == kind)]


def test_a_week_of_output_goes_through_the_real_parser(week: ParsedQueues) -> None:
    assert week.rejected == []
    kinds = Counter(o.event if isinstance(o, TicketEvent) else "snapshot"
                    for o in week.observations)
    assert kinds["issued"] > 10_000
    assert kinds["called"] >= kinds["served"] + kinds["no_show"]
    assert 0 < kinds["no_show"] < 0.1 * kinds["called"]


def test_nothing_happens_outside_opening_hours(
    week: ParsedQueues, pack_points: dict[str, ServicePoint],
) -> None:
    for o in week.observations:
        local = o.at.astimezone(HANOI)
        minute = local.hour * 60 + local.minute + local.second / 60
        sessions = pack_points[o.point_id].sessions.get(local.weekday(), ())
        open_now = any(start <= minute < end for start, end in sessions)
        if isinstance(o, CounterSnapshot):
            # Closed desks still report, with no counter open.
            assert open_now or o.counters_open == 0, o
        else:  # a service may finish on the stroke of closing time
            assert any(start <= minute <= end for start, end in sessions), o
    saturday = {o.point_id for o in _events(week) if o.at.astimezone(HANOI).weekday() == 5}
    assert saturday == {p.id for p in pack_points.values() if 5 in p.sessions}
    assert not [o for o in _events(week) if o.at.astimezone(HANOI).weekday() == 6]


def test_mornings_and_mondays_are_busiest(week: ParsedQueues) -> None:
    arrivals = Counter((o.at.astimezone(HANOI).weekday(), o.at.astimezone(HANOI).hour)
                       for o in _events(week, "issued"))
    for day in range(5):
        assert arrivals[(day, 9)] > 1.5 * arrivals[(day, 16)]
    by_day = Counter({day: sum(n for (d, _), n in arrivals.items() if d == day)
                      for day in range(7)})
    assert by_day[0] > 1.15 * by_day[2]
    assert by_day[5] < 0.5 * by_day[2] and by_day[6] == 0


def test_counters_open_gradually_and_take_breaks(week: ParsedQueues) -> None:
    snapshots = [o for o in week.observations
                 if isinstance(o, CounterSnapshot) and o.point_id == "mc-006-dong-da"]
    at_opening = [s.counters_open for s in snapshots if s.at.astimezone(HANOI).hour == 8
                  and s.at.astimezone(HANOI).minute < 30]
    mid_morning = [s.counters_open for s in snapshots if s.at.astimezone(HANOI).hour == 10]
    assert max(at_opening) < 18 and max(mid_morning) == 18
    assert min(mid_morning) < 18  # somebody stepped away


def test_the_same_seed_gives_the_same_day_whatever_the_polling_cadence(
    points: dict[str, ServicePoint],
) -> None:
    until = MONDAY + timedelta(hours=13)
    hourly = _run(points, until)
    assert hourly == _run(points, until, step=timedelta(seconds=437))
    assert hourly != _run(points, until, seed=7)


def _morning(points: dict[str, ServicePoint], surges: tuple[Surge, ...]) -> list[m.Ticket]:
    wednesday = MONDAY + timedelta(days=2)
    parsed = parse_payload(_run(points, wednesday + timedelta(hours=12), surges=surges), points)
    return m.tickets(e for e in _events(parsed) if e.point_id == "mc-ba-dinh")


def test_a_scheduled_surge_shows_in_the_measures(points: dict[str, ServicePoint]) -> None:
    nine = MONDAY + timedelta(days=2, hours=9)
    surge = Surge(nine, nine + timedelta(hours=1), 3.0, frozenset({"mc-ba-dinh"}))
    calm, busy = _morning(points, ()), _morning(points, (surge,))
    window = m.Window(nine, nine + timedelta(hours=2))
    assert m.throughput(busy, window).arrived > 1.8 * m.throughput(calm, window).arrived
    calm_p90 = m.spread(m.wait_times(calm, window))
    busy_p90 = m.spread(m.wait_times(busy, window))
    assert calm_p90 is not None and busy_p90 is not None
    assert busy_p90.p90 > calm_p90.p90 + 10
    assert sum(m.waiting_now(busy, nine + timedelta(hours=1)).values()) > 10
    level = m.service_level(busy, window).overall
    assert level is not None and level < 0.8
    outlook = m.outlook(busy, m.Window(nine, nine + timedelta(hours=1)), servers=4)
    assert outlook is not None and outlook.unstable


async def test_a_surge_on_demand_through_the_feed(points: dict[str, ServicePoint]) -> None:
    nine = MONDAY + timedelta(days=2, hours=9)
    waiting = []
    for surge_now in (False, True):
        clock = Clock(nine)
        sim = QueueSimulator(points.values(), now=clock)
        feed = QueuesFeed(sim, points)
        assert (feed.name, feed.mode) == ("queues", "poll")
        feed.parse(await feed.fetch())
        if surge_now:
            surge = sim.inject_surge(4.0, minutes=45, point_ids=["mc-hoan-kiem"])
            assert surge.start == nine and surge.point_ids == frozenset({"mc-hoan-kiem"})
        clock.now = nine + timedelta(minutes=45)
        parsed = feed.parse(await feed.fetch())
        assert parsed.rejected == []
        latest = max((o for o in parsed.observations
                      if isinstance(o, CounterSnapshot) and o.point_id == "mc-hoan-kiem"),
                     key=lambda s: s.at)
        waiting.append(latest.waiting_total)
    assert waiting[1] > waiting[0] + 10


def test_output_starts_with_the_day_so_far_and_never_runs_ahead_of_the_clock(
    points: dict[str, ServicePoint],
) -> None:
    clock = Clock(MONDAY + timedelta(hours=9, minutes=30))
    records = QueueSimulator(points.values(), now=clock).records()
    stamps = [datetime.fromisoformat(r["at"]) for r in records]
    opened = [datetime.fromisoformat(r["at"]) for r in records if r["kind"] == "ticket"]
    assert min(stamps) == MONDAY  # closed desks report from midnight
    assert min(opened) >= MONDAY + timedelta(hours=8)
    assert max(stamps) <= clock.now
    assert stamps == sorted(stamps)
    assert all(s.utcoffset() == timedelta(hours=7) for s in stamps)
    assert datetime.fromisoformat(records[0]["at"]).astimezone(UTC).hour == 17
