"""Measures computed on demand from stored history: signals, queues and BRT headways."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query

from feeds.isolation import Isolation, MeasureFailure
from feeds.queues.measures import (
    Ticket,
    Window,
    outlook,
    service_level,
    service_times,
    spread,
    throughput,
    tickets,
    wait_times,
    waiting_now,
)
from feeds.signals.detectors import detectors_from_features
from feeds.signals.health import detector_health
from feeds.signals.measures import phase_measures
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.headways import observed_headways, summarise
from feeds.transit.schedule import Timetable
from ioc.api.deps import State, Viewer
from ioc.measure_failures import FailureLog
from ioc.state import AppState
from ioc.storage.history import brt_arrivals, queue_history, signal_events

router = APIRouter(tags=["measures"])
T = TypeVar("T")
# Measures that raise for one asset are answered as unavailable; this remembers which, so
# each is logged once per process while it keeps failing.
_FAILURES = FailureLog("measures API")

MAX_RANGE = timedelta(days=7)
Start = Annotated[datetime | None, Query(description="range start (default: end − 1 hour)")]
End = Annotated[datetime | None, Query(description="range end (default: the city clock's now)")]


def _range(
    state: AppState, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    end = end or state.clock.now()
    start = start or end - timedelta(hours=1)
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(422, "start and end need a time zone")
    if not start < end or end - start > MAX_RANGE:
        raise HTTPException(422, f"the range must be positive and at most {MAX_RANGE.days} days")
    return start, end


def _json(row: Any) -> dict[str, Any]:
    return {k: _value(v) for k, v in row._asdict().items()}


def _value(v: Any) -> Any:
    """A value JSON can carry: times in ISO 8601, an infinite or undefined figure as null."""
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _input(start: datetime, end: datetime, **counts: int) -> str:
    """The input of an asset's measures, in a line for a failure's log."""
    sizes = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items())
    return f"{sizes} in [{start.isoformat()}, {end.isoformat()})"


@router.get("/api/signals/{signal_id}/measures")
async def signal_measures(
    state: State, _user: Viewer, signal_id: str, start: Start = None, end: End = None
) -> dict[str, Any]:
    """ATSPM measures per phase in 15-minute bins, and detector watchdog findings.

    A measure that fails on this signal's data is null (in each bin it covers) and named
    with its reason in `unavailable`; the other measures are answered as usual.
    """
    start, end = _range(state, start, end)
    features = [f for f in state.pack.asset_features("signals")
                if f["properties"]["id"] == signal_id]
    if not features:
        raise HTTPException(404, f"no signal {signal_id!r} in the city pack")
    detectors = detectors_from_features(features)
    async with state.pool.connection() as conn:
        events = await signal_events(conn, signal_id, start, end)
    failures: list[MeasureFailure] = []
    guard = Isolation(signal_id, _input(start, end, events=len(events)), failures)
    bins = guard.attempt("phase_measures",
                         lambda: phase_measures(events, detectors, failures=failures))
    findings = guard.attempt("detector_health", lambda: detector_health(
        events, detectors, start, end, zone=state.pack.timezone))
    return {
        "signal_id": signal_id, "start": start.isoformat(), "end": end.isoformat(),
        "events": len(events),
        "bins": None if bins is None else [
            {**_json(b), "gap_out_share": b.termination_share("gap_outs"),
             "max_out_share": b.termination_share("max_outs"),
             "force_off_share": b.termination_share("force_offs")} for b in bins],
        "detector_health": None if findings is None else [_json(f) for f in findings],
        "unavailable": _FAILURES.settle(signal_id, failures),
    }


@router.get("/api/queues/{point_id}/measures")
async def queue_measures(
    state: State, _user: Viewer, point_id: str, start: Start = None, end: End = None
) -> dict[str, Any]:
    """Waits, service times, service level and the Erlang C outlook of one desk.

    A figure with no value (no service finished, no counter open: an infinite wait or
    utilisation) is null; a measure that fails on this desk's data is null and named with
    its reason in `unavailable`.
    """
    start, end = _range(state, start, end)
    async with state.pool.connection() as conn:
        events, snapshots = await queue_history(conn, point_id, start, end)
    if not events and not snapshots:
        raise HTTPException(404, f"no queue data for {point_id!r} in that range")
    failures: list[MeasureFailure] = []
    guard = Isolation(point_id, _input(start, end, ticket_events=len(events),
                                       counter_snapshots=len(snapshots)), failures)
    window = Window(start, end)
    counters = snapshots[-1].counters_open if snapshots else 0
    lives = guard.attempt("tickets", lambda: tickets(events))

    def measure(name: str, compute: Callable[[list[Ticket]], T]) -> T | None:
        return None if lives is None else guard.attempt(name, lambda: compute(lives))

    waiting = measure("waiting_now", lambda ls: waiting_now(ls, end))
    waits = measure("wait_times", lambda ls: spread(wait_times(ls, window)))
    services = measure("service_times", lambda ls: spread(service_times(ls, window)))
    flow = measure("throughput", lambda ls: throughput(ls, window))
    level = measure("service_level", lambda ls: service_level(ls, window))
    erlang = measure("erlang_c", lambda ls: outlook(ls, window, counters))
    return {
        "point_id": point_id, "start": start.isoformat(), "end": end.isoformat(),
        "waiting_now": waiting,
        "wait_min": None if waits is None else _json(waits),
        "service_min": None if services is None else _json(services),
        "throughput": None if flow is None else _json(flow),
        "service_level": None if level is None else _json(level),
        "counters_open": counters,
        "erlang_c": None if erlang is None else {
            **_json(erlang), "utilisation": _value(erlang.utilisation)},
        "unavailable": _FAILURES.settle(point_id, failures),
    }


@router.get("/api/brt/headways")
async def brt_headways(
    state: State, _user: Viewer, start: Start = None, end: End = None
) -> dict[str, Any]:
    """Observed headways per stop and direction against the schedule: CV, bunching, gaps, EWT."""
    start, end = _range(state, start, end)
    if state.pack.gtfs_path is None:
        raise HTTPException(404, "the city pack has no BRT timetable")
    static = load_gtfs(state.pack.gtfs_path)
    timetable = Timetable(static, end.astimezone(static.timezone).date())
    async with state.pool.connection() as conn:
        arrivals = await brt_arrivals(conn, start, end)

    def scheduled(route: str | None, direction: int | None, stop: str,
                  when: datetime) -> float | None:
        return None if route is None else timetable.headway_at_instant(
            route, direction, stop, when)

    summaries = summarise(observed_headways(arrivals), scheduled)
    return {"start": start.isoformat(), "end": end.isoformat(), "arrivals": len(arrivals),
            "stops": [_json(s) for s in summaries]}
