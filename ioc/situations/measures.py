"""Readings measured on the periodic tick from stored history and feed health.

Split failures and queue measures need a window of history, so they are computed from the
database with the feeds' own measure code; feed lag comes from the health the writer keeps
in Redis, judged against the same allowances as /api/health.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import psycopg

from feeds.isolation import Isolation, MeasureFailure
from feeds.queues.measures import Window, percentile, service_level, tickets, wait_times
from feeds.queues.model import TicketEvent
from feeds.registry import feed_hours, lag_allowance
from feeds.signals.detectors import DetectorConfig
from feeds.signals.measures import phase_measures
from geo import CityPack
from ioc.bus import RedisBus
from ioc.measure_failures import FailureLog
from ioc.situations.readings import Reading
from ioc.storage.history import queue_history, signal_events

DEFAULT_TARGET_WAIT_MIN = 15.0
# Each tick measures every asset again: a measure failing on one asset's data is logged once
# while it keeps failing, and that asset gets no reading from it.
_FAILURES = FailureLog("situations engine")


def _location(feature: Mapping[str, Any]) -> tuple[float | None, float | None, str | None]:
    coordinates = feature.get("geometry", {}).get("coordinates") or [None, None]
    props = feature["properties"]
    return coordinates[0], coordinates[1], props.get("district")


async def split_failure_readings(
    conn: psycopg.AsyncConnection, signals: Sequence[Mapping[str, Any]],
    detectors: Sequence[DetectorConfig], now: datetime, window: timedelta, min_cycles: int,
) -> list[Reading]:
    """Per signal and phase: split failures / cycles judged over the window before `now`.

    A signal (or phase) whose measures fail on its data gets no reading; the others do.
    """
    readings = []
    by_signal: defaultdict[str, list[DetectorConfig]] = defaultdict(list)
    for det in detectors:
        by_signal[det.signal_id].append(det)
    for feature in signals:
        signal_id = feature["properties"]["id"]
        if signal_id not in by_signal:
            continue
        events = await signal_events(conn, signal_id, now - window, now)
        broken: list[MeasureFailure] = []
        guard = Isolation(signal_id, _input(now - window, now, f"{len(events)} events"), broken)
        bins = guard.attempt("phase_measures", partial(
            phase_measures, events, by_signal[signal_id], failures=broken))
        _FAILURES.settle(signal_id, broken)
        cycles: defaultdict[int, int] = defaultdict(int)
        failures: defaultdict[int, int] = defaultdict(int)
        for b in bins or ():
            if b.sf_cycles is not None and b.split_failures is not None:
                cycles[b.phase] += b.sf_cycles
                failures[b.phase] += b.split_failures
        lon, lat, district = _location(feature)
        for phase, judged in sorted(cycles.items()):
            if judged < min_cycles:
                continue
            readings.append(Reading(
                "split_failures", f"{signal_id}/{phase}", now,
                {"share": failures[phase] / judged}, "signal", signal_id, district, lon, lat,
                {"signal_id": signal_id, "phase": phase, "cycles": judged,
                 "split_failures": failures[phase], "window_min": window.total_seconds() / 60}))
    return readings


def _input(start: datetime, end: datetime, sizes: str) -> str:
    """The input of an asset's measures, in a line for a failure's log."""
    return f"{sizes} in [{start.isoformat()}, {end.isoformat()})"


async def queue_readings(
    conn: psycopg.AsyncConnection, points: Sequence[Mapping[str, Any]], now: datetime,
    window: timedelta, min_tickets: int,
) -> list[Reading]:
    """Per desk: p90 wait over its target, and the service level, over the window.

    A desk whose measures fail on its data gets no reading; the others do.
    """
    readings = []
    span = Window(now - window, now)
    for feature in points:
        props = feature["properties"]
        target = float(props.get("target_wait_min") or DEFAULT_TARGET_WAIT_MIN)
        # Tickets called in the window may have been issued well before it.
        events, _ = await queue_history(conn, props["id"], now - window * 3, now)
        broken: list[MeasureFailure] = []
        guard = Isolation(props["id"], _input(now - window * 3, now,
                                              f"{len(events)} ticket events"), broken)
        figures = guard.attempt("queue_wait", partial(_wait_figures, events, span, target))
        _FAILURES.settle(props["id"], broken)
        if figures is None:
            continue
        called, p90, level = figures
        if called < min_tickets or p90 is None or level is None:
            continue
        lon, lat, district = _location(feature)
        readings.append(Reading(
            "queue", props["id"], now,
            {"wait_p90_ratio": p90 / target, "service_level": level},
            "service_point", props["id"], district, lon, lat,
            {"point_id": props["id"], "wait_p90_min": round(p90, 2), "target_wait_min": target,
             "service_level": round(level, 4), "tickets": called,
             "window_min": window.total_seconds() / 60}))
    return readings


def _wait_figures(
    events: Sequence[TicketEvent], span: Window, target: float
) -> tuple[int, float | None, float | None]:
    """Tickets called in the window, their p90 wait and the service level (None: no figure)."""
    lives = tickets(events)
    waits = wait_times(lives, span)
    level = service_level(lives, span, default_target=target).overall
    return len(waits), percentile(waits, 0.9) if waits else None, level


async def feed_readings(
    bus: RedisBus, feeds: Sequence[str], now: datetime, watching_since: datetime,
    pack: CityPack, *, speed: float,
) -> list[Reading]:
    """Per feed: time since its newest stored observation over its lag allowance (on a
    clock running `speed` times real time).

    A feed that never delivered counts from when the engine started watching it. A feed
    idle as its source's hours say gives no reading: its silence is no fault, nor proof
    that a fault raised before its hours ended is repaired.
    """
    readings = []
    for feed in feeds:
        raw = await bus.health(feed)
        allowance = lag_allowance(feed, speed)
        last_ms = raw.get("last_observation_ms")
        last = None if not last_ms else datetime.fromtimestamp(int(last_ms) / 1000, now.tzinfo)
        standing = feed_hours(feed, pack).standing(now, last, allowance)
        lag = standing.lag_s(now, last or watching_since)
        if standing.idle or lag is None:
            continue
        readings.append(Reading(
            "feed", feed, now, {"lag_ratio": lag / allowance}, "feed", feed,
            evidence={"feed": feed, "lag_s": round(lag, 1), "allowance_s": allowance,
                      "last_observation": None if last is None else last.isoformat(),
                      "silent": last is None, "last_error": raw.get("last_error") or None}))
    return readings
