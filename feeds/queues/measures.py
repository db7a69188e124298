"""Queue measures over ticket events, as queue-management reports define them.

`tickets()` rebuilds each ticket's life from its events; the measures then take those lives
(filter by point first for a per-desk figure) and a half-open window [start, end), and
return minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from feeds.queues.erlang import ErlangC, erlang_c
from feeds.queues.model import CounterSnapshot, TicketEvent
from feeds.queues.points import DEFAULT_TARGET_WAIT_MIN

# Queue systems reset at the end of the day without an event for the tickets never called;
# a ticket older than this is one of those, not someone still waiting.
STALE_AFTER = timedelta(hours=10)


class Window(NamedTuple):
    """A half-open time window [start, end)."""

    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        """Length of the window in minutes."""
        return (self.end - self.start).total_seconds() / 60

    def holds(self, at: datetime | None) -> bool:
        """True when an instant falls inside the window."""
        return at is not None and self.start <= at < self.end


class Ticket(NamedTuple):
    """One ticket's life rebuilt from its events (None: that step has not been seen)."""

    point_id: str
    ticket_id: str
    service_type: str
    issued: datetime | None
    called: datetime | None
    finished: datetime | None
    no_show: datetime | None

    @property
    def wait(self) -> float | None:
        """Wait time = called − issued, in minutes."""
        return _span(self.issued, self.called)

    @property
    def service(self) -> float | None:
        """Service time = finished − called, in minutes."""
        return _span(self.called, self.finished)


def _span(first: datetime | None, last: datetime | None) -> float | None:
    if first is None or last is None:
        return None
    return (last - first).total_seconds() / 60


def tickets(events: Iterable[TicketEvent]) -> list[Ticket]:
    """Rebuild ticket lives; the first event of each kind wins, as the natural key stores it."""
    steps: dict[tuple[str, str], dict[str, datetime]] = {}
    types: dict[tuple[str, str], str] = {}
    for event in events:
        key = (event.point_id, event.ticket_id)
        steps.setdefault(key, {}).setdefault(event.event, event.at)
        types.setdefault(key, event.service_type)
    return [
        Ticket(point, ticket, types[(point, ticket)], seen.get("issued"), seen.get("called"),
               seen.get("served"), seen.get("no_show"))
        for (point, ticket), seen in steps.items()
    ]


def waiting_now(
    lives: Iterable[Ticket], at: datetime, stale_after: timedelta = STALE_AFTER
) -> dict[str, int]:
    """People waiting at an instant, per service type: issued, not yet called, not stale."""
    counts: dict[str, int] = {}
    for t in lives:
        if (t.issued is not None and at - stale_after < t.issued <= at
                and (t.called is None or t.called > at)
                and (t.no_show is None or t.no_show > at)):
            counts[t.service_type] = counts.get(t.service_type, 0) + 1
    return counts


def wait_times(lives: Iterable[Ticket], window: Window) -> list[float]:
    """Waits (called − issued) of the tickets called inside the window."""
    return [t.wait for t in lives if window.holds(t.called) and t.wait is not None]


def service_times(lives: Iterable[Ticket], window: Window) -> list[float]:
    """Service times (finished − called) of the tickets finished inside the window."""
    return [t.service for t in lives if window.holds(t.finished) and t.service is not None]


class Spread(NamedTuple):
    """Median, 90th percentile, maximum and mean of a sample."""

    p50: float
    p90: float
    max: float
    mean: float


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) with linear interpolation between order statistics (type 7)."""
    if not values:
        raise ValueError("no values to take a percentile of")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: Sequence[float]) -> Spread | None:
    """p50, p90, max and mean of a sample (None when it is empty)."""
    if not values:
        return None
    return Spread(percentile(values, 0.5), percentile(values, 0.9), max(values),
                  sum(values) / len(values))


class Throughput(NamedTuple):
    """Counts over a window: arrivals, services finished, no-shows, and % served."""

    arrived: int
    served: int
    no_shows: int
    served_share: float | None


def throughput(lives: Sequence[Ticket], window: Window) -> Throughput:
    """Arrived (issued in window), served and no-shows (in window), and % served.

    % served follows the window's arrivals: of the tickets issued in it, the share served
    (at any time seen), so a backlog at the end of a live window shows as a lower share.
    """
    cohort = [t for t in lives if window.holds(t.issued)]
    share = sum(t.finished is not None for t in cohort) / len(cohort) if cohort else None
    return Throughput(
        arrived=len(cohort),
        served=sum(window.holds(t.finished) for t in lives),
        no_shows=sum(window.holds(t.no_show) for t in lives),
        served_share=share,
    )


class ServiceLevel(NamedTuple):
    """Share of tickets whose wait met the target: overall and per service type."""

    overall: float | None
    by_type: dict[str, float]


def service_level(
    lives: Iterable[Ticket],
    window: Window,
    targets: Mapping[str, float] | None = None,
    default_target: float = DEFAULT_TARGET_WAIT_MIN,
) -> ServiceLevel:
    """Share of tickets called within their type's target wait (minutes; default 15).

    Counted: tickets called inside the window (met when the wait ≤ target), and tickets
    still waiting at the window's end that have already waited past the target (missed),
    so a desk that stops calling shows a falling level instead of a frozen one.
    """
    targets = targets or {}
    met: dict[str, int] = {}
    total: dict[str, int] = {}
    for t in lives:
        target = targets.get(t.service_type, default_target)
        if window.holds(t.called) and t.wait is not None:
            hit = t.wait <= target
        elif (t.issued is not None and t.issued < window.end and t.called is None
              and t.no_show is None and (window.end - t.issued) > timedelta(minutes=target)
              and window.end - t.issued <= STALE_AFTER):
            hit = False
        else:
            continue
        total[t.service_type] = total.get(t.service_type, 0) + 1
        met[t.service_type] = met.get(t.service_type, 0) + hit
    overall = sum(met.values()) / sum(total.values()) if total else None
    return ServiceLevel(overall, {k: met[k] / total[k] for k in sorted(total)})


def counters_open(snapshots: Iterable[CounterSnapshot], at: datetime) -> dict[str, int]:
    """Counters open per service point, from each point's latest snapshot at or before `at`."""
    latest: dict[str, CounterSnapshot] = {}
    for s in snapshots:
        if s.at <= at and (s.point_id not in latest or s.at > latest[s.point_id].at):
            latest[s.point_id] = s
    return {point: s.counters_open for point, s in latest.items()}


def arrival_rate(lives: Iterable[Ticket], window: Window) -> float:
    """Arrivals a minute, λ = tickets issued in the window / its length."""
    return sum(window.holds(t.issued) for t in lives) / window.minutes


def outlook(lives: Sequence[Ticket], window: Window, servers: int) -> ErlangC | None:
    """Erlang C from the window's λ and mean service time, for `servers` counters open.

    None when no service finished in the window, for then there is no service time to use.
    """
    services = service_times(lives, window)
    if not services:
        return None
    return erlang_c(arrival_rate(lives, window), sum(services) / len(services), servers)


class LittleCheck(NamedTuple):
    """Little's law on the queue, Lq = λ · Wq: measured against predicted people waiting."""

    observed: float
    predicted: float

    @property
    def gap(self) -> float:
        """Relative gap |observed − predicted| / observed (0 when both are 0)."""
        if self.observed == 0:
            return 0.0 if self.predicted == 0 else float("inf")
        return abs(self.observed - self.predicted) / self.observed


def little_check(lives: Iterable[Ticket], window: Window) -> LittleCheck:
    """Time-average number waiting in the window against λ · mean wait of its arrivals.

    Waits still open at the window's end are cut there on both sides. The two agree exactly
    when the window starts and ends with nobody waiting; a large gap in a long window points
    at lost or mis-timed events.
    """
    waited = 0.0
    arrivals: list[float] = []
    for t in lives:
        if t.issued is None:
            continue
        left = t.called or t.no_show or min(window.end, t.issued + STALE_AFTER)
        overlap = (min(left, window.end) - max(t.issued, window.start)).total_seconds() / 60
        waited += max(overlap, 0.0)
        if window.holds(t.issued):
            arrivals.append((min(left, window.end) - t.issued).total_seconds() / 60)
    length = window.minutes
    mean_wait = sum(arrivals) / len(arrivals) if arrivals else 0.0
    return LittleCheck(waited / length, len(arrivals) / length * mean_wait)
