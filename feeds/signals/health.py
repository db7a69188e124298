"""Detector and controller health: the ATSPM watchdog rules over a period of events."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, time, timedelta, tzinfo
from typing import NamedTuple

import numpy as np

from feeds.signals.codes import (
    DETECTOR_FAULTS,
    DETECTOR_ON,
    DETECTOR_RESTORED,
    FORCE_OFF,
    GAP_OUT,
    MAX_OUT,
    PED_CALL,
)
from feeds.signals.detectors import DetectorConfig
from feeds.signals.events import DEFAULT_ZONE, SignalEvent, zone_info
from feeds.signals.timeline import SignalLog, detector_on, split_by_signal

Window = tuple[time, time]
Mask = np.ndarray[tuple[int], np.dtype[np.bool_]]


class HealthRules(NamedTuple):
    """Watchdog thresholds (ATSPM defaults; Hanoi's two peaks as the low-count windows)."""

    peaks: tuple[Window, ...] = ((time(7), time(9)), (time(17), time(19)))
    min_peak_actuations: int = 50
    overnight: Window = (time(1), time(5))
    min_terminations: int = 50
    max_termination_share: float = 0.9
    max_ped_calls: int = 200
    min_daily_records: int = 500
    # A stop-bar loop can stay occupied through a few congested cycles; far longer is a fault.
    max_presence: timedelta = timedelta(minutes=10)
    # A window with no event at all for longer than this was not recorded: it is not judged.
    max_silence: timedelta = timedelta(minutes=15)


DEFAULT_RULES = HealthRules()


class HealthIssue(NamedTuple):
    """One watchdog finding: what, on which channel or phase (None: the signal), when."""

    signal_id: str
    kind: str
    subject: int | None
    start: datetime
    end: datetime
    value: float
    detail: str


def detector_health(
    events: Sequence[SignalEvent],
    detectors: Sequence[DetectorConfig],
    start: datetime,
    end: datetime,
    *,
    rules: HealthRules = DEFAULT_RULES,
    zone: str = DEFAULT_ZONE,
) -> list[HealthIssue]:
    """Watchdog findings for the signals of `events` and `detectors` over [start, end).

    The caller vouches that `events` hold everything logged in the period: a window counts
    only if it lies wholly inside it, and only if it has data: no stretch of it longer than
    `max_silence` without any event of `events` (before the system ran, or while it was
    down, nothing can be said about a detector). Rules, per local day:
    - low_actuations: a configured detector with < 50 detector-on (82) in a peak window;
    - max_out / force_off: a phase whose max-outs (5) or force-offs (6) are ≥ 90 % of its
      ≥ 50 terminations (4, 5, 6) overnight (01:00-05:00);
    - stuck_ped: a phase with more than 200 pedestrian calls (45) overnight;
    - few_records: a signal with fewer than 500 events in a whole day;
    - stuck_on: a detector on without a break for longer than `max_presence`;
    - detector_fault: a detector whose last fault (84-88) is not followed by restored (83).
    """
    tz = zone_info(zone)
    logs = {log.signal_id: log for log in split_by_signal(events)}
    recorded = _Recorded(logs.values(), rules.max_silence)
    issues: list[HealthIssue] = []
    for sid in sorted(set(logs) | {d.signal_id for d in detectors}):
        log = logs.get(sid)
        counts = _Counts(log)
        channels = sorted({d.channel for d in detectors if d.signal_id == sid})
        for lo, hi in recorded.within(_windows(start, end, tz, rules.peaks)):
            for channel in channels:
                n = counts.within(lo, hi, counts.code == DETECTOR_ON, channel)
                if n < rules.min_peak_actuations:
                    issues.append(HealthIssue(sid, "low_actuations", channel, lo, hi, n,
                                              f"{n} actuations in the peak window"))
        for lo, hi in recorded.within(_windows(start, end, tz, (rules.overnight,))):
            issues.extend(_overnight(sid, counts, lo, hi, rules))
        for lo, hi in recorded.within(_windows(start, end, tz, ((time(0), time(0)),))):
            n = counts.within(lo, hi, np.ones(len(counts.t), bool))
            if n < rules.min_daily_records:
                issues.append(HealthIssue(sid, "few_records", None, lo, hi, n,
                                          f"{n} events in the day"))
        if log is not None:
            issues.extend(_detector_states(log, rules.max_presence))
    return issues


class _Counts:
    """Counting one signal's events by window (a signal may have logged nothing at all)."""

    def __init__(self, log: SignalLog | None) -> None:
        empty = np.empty(0, np.int64)
        self.t, self.code, self.param = (log.t, log.code, log.param) if log else (empty,) * 3

    def within(self, lo: datetime, hi: datetime, mask: Mask, param: int | None = None) -> int:
        """How many events in [lo, hi) match the mask (and the parameter)."""
        mask = mask & (self.t >= _ms(lo)) & (self.t < _ms(hi))
        if param is not None:
            mask &= self.param == param
        return int(np.count_nonzero(mask))


class _Recorded:
    """When anything was logged, to tell a quiet window from one nobody recorded."""

    def __init__(self, logs: Iterable[SignalLog], max_silence: timedelta) -> None:
        self.t = np.unique(np.concatenate([log.t for log in logs] or [np.empty(0, np.int64)]))
        self.max_silence = max_silence.total_seconds() * 1000

    def within(self, windows: Iterable[tuple[datetime, datetime]]
               ) -> Iterator[tuple[datetime, datetime]]:
        """The windows with no silence longer than allowed, from their start to their end."""
        for lo, hi in windows:
            inside = self.t[(self.t >= _ms(lo)) & (self.t < _ms(hi))]
            stamps = np.concatenate(([_ms(lo)], inside, [_ms(hi)]))
            if np.diff(stamps).max() <= self.max_silence:
                yield lo, hi


def _overnight(
    sid: str, counts: _Counts, lo: datetime, hi: datetime, rules: HealthRules
) -> Iterator[HealthIssue]:
    """Max-out, force-off and stuck pedestrian button findings in one overnight window."""
    ending = np.isin(counts.code, (GAP_OUT, MAX_OUT, FORCE_OFF))
    for phase in sorted({int(p) for p in counts.param[ending | (counts.code == PED_CALL)]}):
        ends = counts.within(lo, hi, ending, phase)
        for kind, which in (("max_out", MAX_OUT), ("force_off", FORCE_OFF)):
            share = counts.within(lo, hi, counts.code == which, phase) / ends if ends else 0.0
            if ends >= rules.min_terminations and share >= rules.max_termination_share:
                yield HealthIssue(sid, kind, phase, lo, hi, share,
                                  f"{share:.0%} of {ends} terminations")
        peds = counts.within(lo, hi, counts.code == PED_CALL, phase)
        if peds > rules.max_ped_calls:
            yield HealthIssue(sid, "stuck_ped", phase, lo, hi, peds,
                              f"{peds} pedestrian calls overnight")


def _detector_states(log: SignalLog, max_presence: timedelta) -> Iterator[HealthIssue]:
    """Stuck-on detectors and unrestored detector faults of one signal."""
    limit = max_presence.total_seconds() * 1000
    for channel in sorted({int(p) for p in log.param[log.code == DETECTOR_ON]}):
        on = detector_on(log, [channel])
        longest = np.flatnonzero(on.end - on.start > limit)
        for i in longest:
            lo, hi = _time(log, int(on.start[i])), _time(log, int(on.end[i]))
            yield HealthIssue(log.signal_id, "stuck_on", channel, lo, hi,
                              (hi - lo).total_seconds(), f"on without a break for {hi - lo}")
    faults = np.isin(log.code, tuple(DETECTOR_FAULTS) + (DETECTOR_RESTORED,))
    last: dict[int, tuple[int, int]] = {}
    for t, code, channel in zip(log.t[faults], log.code[faults], log.param[faults],
                                strict=True):
        last[int(channel)] = (int(t), int(code))
    for channel, (t, code) in sorted(last.items()):
        if code != DETECTOR_RESTORED:
            at = _time(log, t)
            yield HealthIssue(log.signal_id, "detector_fault", channel, at, _time(log, log.end),
                              code, f"fault event {code} not restored")


def _windows(
    start: datetime, end: datetime, tz: tzinfo, windows: tuple[Window, ...]
) -> Iterator[tuple[datetime, datetime]]:
    """Local-time windows of each day that lie wholly inside [start, end).

    A window whose end is not after its start runs to that clock time the next day.
    """
    day = start.astimezone(tz).date() - timedelta(days=1)
    while datetime.combine(day, time(0), tz) < end:
        for lo_t, hi_t in windows:
            lo = datetime.combine(day, lo_t, tz)
            hi = datetime.combine(day + timedelta(days=hi_t <= lo_t), hi_t, tz)
            if start <= lo and hi <= end:
                yield lo, hi
        day += timedelta(days=1)


def _ms(stamp: datetime) -> int:
    return round(stamp.timestamp() * 1000)


def _time(log: SignalLog, ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, log.zone)
