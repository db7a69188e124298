"""Queue measures on a hand-checked morning at one desk."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from feeds.queues import measures as m
from feeds.queues.erlang import erlang_c
from feeds.queues.model import CounterSnapshot, TicketEvent

HANOI = timezone(timedelta(hours=7))


def _at(hour: int, minute: int, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=HANOI)


def _events(ticket: str, service_type: str, *steps: tuple[str, datetime]) -> list[TicketEvent]:
    return [
        TicketEvent("mc-ba-dinh", ticket, event, at, service_type,
                    None if event == "issued" else "1", 105.81, 21.03)
        for event, at in steps
    ]


# Ticket: issued, called, finished → wait, service (minutes).
# A land   08:00 08:02 08:12 served  → 2, 10
# B land   08:01 08:05 08:20 served  → 4, 15
# C civil  08:03 08:06 08:11 served  → 3, 5
# D civil  08:04 08:24 08:26 no-show → 20
# E land   08:14 08:30 08:40 served  → 16, 10
# F civil  08:40 still waiting at 09:00 → 20 so far
EVENTS = [
    *_events("A", "land", ("issued", _at(8, 0)), ("called", _at(8, 2)), ("served", _at(8, 12))),
    *_events("B", "land", ("issued", _at(8, 1)), ("called", _at(8, 5)), ("served", _at(8, 20))),
    *_events("C", "civil_status", ("issued", _at(8, 3)), ("called", _at(8, 6)),
             ("served", _at(8, 11))),
    *_events("D", "civil_status", ("issued", _at(8, 4)), ("called", _at(8, 24)),
             ("no_show", _at(8, 26))),
    *_events("E", "land", ("issued", _at(8, 14)), ("called", _at(8, 30)), ("served", _at(8, 40))),
    *_events("F", "civil_status", ("issued", _at(8, 40))),
    # A replayed call, much later: the first call is the one that ended A's wait.
    *_events("A", "land", ("called", _at(8, 50))),
]
HOUR = m.Window(_at(8, 0), _at(9, 0))


@pytest.fixture
def lives() -> list[m.Ticket]:
    return m.tickets(EVENTS)


def test_ticket_lives_and_their_wait_and_service_times(lives: list[m.Ticket]) -> None:
    by_id = {t.ticket_id: t for t in lives}
    assert len(by_id) == 6
    assert (by_id["A"].wait, by_id["A"].service) == (2.0, 10.0)
    assert (by_id["D"].wait, by_id["D"].service) == (20.0, None)
    assert (by_id["F"].wait, by_id["F"].service) == (None, None)


def test_wait_percentiles(lives: list[m.Ticket]) -> None:
    waits = m.wait_times(lives, HOUR)
    assert sorted(waits) == [2.0, 3.0, 4.0, 16.0, 20.0]
    # p90 by hand: rank (5 − 1) · 0.9 = 3.6, so 16 + 0.6 · (20 − 16) = 18.4.
    assert m.spread(waits) == pytest.approx(m.Spread(4.0, 18.4, 20.0, 9.0))
    assert m.spread([]) is None
    assert m.percentile([7.0], 0.9) == 7.0


def test_service_times_and_throughput(lives: list[m.Ticket]) -> None:
    assert sorted(m.service_times(lives, HOUR)) == [5.0, 10.0, 10.0, 15.0]
    hour = m.throughput(lives, HOUR)
    assert (hour.arrived, hour.served, hour.no_shows) == (6, 4, 1)
    assert hour.served_share == pytest.approx(4 / 6)
    first_ten = m.Window(_at(8, 0), _at(8, 10))
    assert m.throughput(lives, first_ten) == m.Throughput(4, 0, 0, 0.75)


def test_service_level_counts_long_waiters_still_in_the_queue(lives: list[m.Ticket]) -> None:
    # Met: A 2, B 4, C 3. Missed: D 20, E 16, and F, still waiting after 20 minutes.
    level = m.service_level(lives, HOUR)
    assert level.overall == pytest.approx(3 / 6)
    assert level.by_type == pytest.approx({"civil_status": 1 / 3, "land": 2 / 3})
    relaxed = m.service_level(lives, HOUR, targets={"land": 20.0})
    assert relaxed.by_type["land"] == 1.0
    assert relaxed.overall == pytest.approx(4 / 6)
    assert m.service_level(lives, m.Window(_at(7, 0), _at(8, 0))).overall is None


def test_waiting_now_and_stale_tickets(lives: list[m.Ticket]) -> None:
    # At 08:05 B is being called (not waiting); C and D wait.
    assert m.waiting_now(lives, _at(8, 5)) == {"civil_status": 2}
    assert m.waiting_now(lives, _at(8, 45)) == {"civil_status": 1}
    # Next morning, F (never called: the system reset overnight) is nobody waiting.
    assert m.waiting_now(lives, _at(8, 45, day=24)) == {}


def test_counters_open_from_the_latest_snapshot_per_point() -> None:
    snapshots = [
        CounterSnapshot("mc-ba-dinh", _at(8, 0), 3, {}, 105.81, 21.03),
        CounterSnapshot("mc-ba-dinh", _at(8, 30), 4, {}, 105.81, 21.03),
        CounterSnapshot("mc-hoan-kiem", _at(8, 10), 2, {}, 105.84, 21.02),
    ]
    assert m.counters_open(snapshots, _at(8, 15)) == {"mc-ba-dinh": 3, "mc-hoan-kiem": 2}
    assert m.counters_open(reversed(snapshots), _at(8, 30)) == {"mc-ba-dinh": 4,
                                                                "mc-hoan-kiem": 2}
    assert m.counters_open(snapshots, _at(7, 59)) == {}


def test_erlang_outlook_from_the_window(lives: list[m.Ticket]) -> None:
    # λ = 6 arrivals / 60 min; mean service (10 + 15 + 5 + 10) / 4 = 10 min; so A = 1.
    assert m.arrival_rate(lives, HOUR) == pytest.approx(0.1)
    assert m.outlook(lives, HOUR, servers=2) == erlang_c(0.1, 10.0, 2)
    one = m.outlook(lives, HOUR, servers=1)
    assert one is not None and one.unstable
    assert m.outlook(lives, m.Window(_at(8, 0), _at(8, 10)), servers=2) is None


def test_littles_law_holds_exactly_when_the_window_starts_empty(lives: list[m.Ticket]) -> None:
    # Waits in the hour: 2 + 4 + 3 + 20 + 16 + 20 (F, cut at 09:00) = 65 person-minutes.
    check = m.little_check(lives, HOUR)
    assert check.observed == pytest.approx(65 / 60)
    assert check.predicted == pytest.approx(65 / 60)
    assert check.gap == pytest.approx(0.0)
    # From 08:05 on, C and D were already waiting: they weigh on L but are not arrivals.
    late = m.little_check(lives, m.Window(_at(8, 5), _at(9, 0)))
    assert late.gap > 0.3
