"""Measures computed on demand from stored history: signals, queues and BRT headways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from feeds.queues.measures import (
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
from ioc.storage.history import brt_arrivals, queue_history, signal_events

router = APIRouter(tags=["measures"])

MAX_RANGE = timedelta(days=7)
Start = Annotated[datetime | None, Query(description="range start (default: end − 1 hour)")]
End = Annotated[datetime | None, Query(description="range end (default: now)")]


def _range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = end or datetime.now(UTC)
    start = start or end - timedelta(hours=1)
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(422, "start and end need a time zone")
    if not start < end or end - start > MAX_RANGE:
        raise HTTPException(422, f"the range must be positive and at most {MAX_RANGE.days} days")
    return start, end


def _json(row: Any) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row._asdict().items()}


@router.get("/api/signals/{signal_id}/measures")
async def signal_measures(
    state: State, _user: Viewer, signal_id: str, start: Start = None, end: End = None
) -> dict[str, Any]:
    """ATSPM measures per phase in 15-minute bins, and detector watchdog findings."""
    start, end = _range(start, end)
    features = [f for f in state.pack.asset_features("signals")
                if f["properties"]["id"] == signal_id]
    if not features:
        raise HTTPException(404, f"no signal {signal_id!r} in the city pack")
    detectors = detectors_from_features(features)
    async with state.pool.connection() as conn:
        events = await signal_events(conn, signal_id, start, end)
    bins = phase_measures(events, detectors)
    findings = detector_health(events, detectors, start, end, zone=state.pack.timezone)
    return {
        "signal_id": signal_id, "start": start.isoformat(), "end": end.isoformat(),
        "events": len(events),
        "bins": [{**_json(b), "gap_out_share": b.termination_share("gap_outs"),
                  "max_out_share": b.termination_share("max_outs"),
                  "force_off_share": b.termination_share("force_offs")} for b in bins],
        "detector_health": [_json(f) for f in findings],
    }


@router.get("/api/queues/{point_id}/measures")
async def queue_measures(
    state: State, _user: Viewer, point_id: str, start: Start = None, end: End = None
) -> dict[str, Any]:
    """Waits, service times, service level and the Erlang C outlook of one desk."""
    start, end = _range(start, end)
    async with state.pool.connection() as conn:
        events, snapshots = await queue_history(conn, point_id, start, end)
    if not events and not snapshots:
        raise HTTPException(404, f"no queue data for {point_id!r} in that range")
    lives = tickets(events)
    window = Window(start, end)
    counters = snapshots[-1].counters_open if snapshots else 0
    erlang = outlook(lives, window, counters)
    waits, services = spread(wait_times(lives, window)), spread(service_times(lives, window))
    return {
        "point_id": point_id, "start": start.isoformat(), "end": end.isoformat(),
        "waiting_now": waiting_now(lives, end),
        "wait_min": None if waits is None else waits._asdict(),
        "service_min": None if services is None else services._asdict(),
        "throughput": throughput(lives, window)._asdict(),
        "service_level": service_level(lives, window)._asdict(),
        "counters_open": counters,
        "erlang_c": None if erlang is None else {**erlang._asdict(),
                                                 "utilisation": erlang.utilisation},
    }


@router.get("/api/brt/headways")
async def brt_headways(
    state: State, _user: Viewer, start: Start = None, end: End = None
) -> dict[str, Any]:
    """Observed headways per stop and direction against the schedule: CV, bunching, gaps, EWT."""
    start, end = _range(start, end)
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
