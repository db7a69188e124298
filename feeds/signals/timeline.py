"""Event logs as numpy arrays, and the interval algebra the measures share (times in ms)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from feeds.signals.codes import (
    BEGIN_GREEN,
    BEGIN_RED_CLEARANCE,
    BEGIN_YELLOW,
    DETECTOR_OFF,
    DETECTOR_ON,
)
from feeds.signals.events import SignalEvent

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
# Two ons (or offs) in a row mean a lost event: closer than this, the detector never went off.
RAPID_REPEAT_MS = 2000
_PHASE_CHANGES = (BEGIN_GREEN, BEGIN_YELLOW, BEGIN_RED_CLEARANCE)
# The state a phase was in before its first observed change: what must precede that change.
_STATE_BEFORE = {BEGIN_GREEN: BEGIN_RED_CLEARANCE, BEGIN_YELLOW: BEGIN_GREEN,
                 BEGIN_RED_CLEARANCE: BEGIN_YELLOW}


@dataclass(frozen=True, slots=True)
class SignalLog:
    """One signal's events, de-duplicated on the natural key and sorted by (time, code)."""

    signal_id: str
    zone: tzinfo
    t: Ints
    code: Ints
    param: Ints

    @property
    def start(self) -> int:
        """Time of the first event: the log says nothing about what came before."""
        return int(self.t[0])

    @property
    def end(self) -> int:
        """Time of the last event."""
        return int(self.t[-1])

    def times(self, code: int, param: int | None = None) -> Ints:
        """Times of the events with that code (and parameter)."""
        mask = self.code == code
        if param is not None:
            mask &= self.param == param
        selected: Ints = self.t[mask]
        return selected


def split_by_signal(events: Sequence[SignalEvent]) -> list[SignalLog]:
    """Arrange events as one array log per signal; exact duplicates count once."""
    ids = sorted({e.signal_id for e in events})
    index = {sid: i for i, sid in enumerate(ids)}
    sig = np.fromiter((index[e.signal_id] for e in events), np.int64, len(events))
    t = np.fromiter((round(e.time.timestamp() * 1000) for e in events), np.int64, len(events))
    code = np.fromiter((e.event_code for e in events), np.int64, len(events))
    param = np.fromiter((e.parameter for e in events), np.int64, len(events))
    order = np.lexsort((param, code, t, sig))
    sig, t, code, param = sig[order], t[order], code[order], param[order]
    fresh = np.ones(len(t), bool)
    fresh[1:] = ((sig[1:] != sig[:-1]) | (t[1:] != t[:-1]) | (code[1:] != code[:-1])
                 | (param[1:] != param[:-1]))
    sig, t, code, param = sig[fresh], t[fresh], code[fresh], param[fresh]
    zones = {e.signal_id: e.time.tzinfo or UTC for e in events}
    bounds = np.searchsorted(sig, np.arange(len(ids) + 1))
    return [
        SignalLog(sid, zones[sid], t[lo:hi], code[lo:hi], param[lo:hi])
        for sid, lo, hi in zip(ids, bounds[:-1], bounds[1:], strict=True)
    ]


class Intervals(NamedTuple):
    """Disjoint, sorted half-open intervals [start, end) with their running total."""

    start: Ints
    end: Ints
    before: Ints  # total length of the intervals preceding each one

    @classmethod
    def union(cls, start: Ints, end: Ints) -> Intervals:
        """Merge possibly overlapping intervals into disjoint ones."""
        order = np.argsort(start, kind="stable")
        start, end = start[order], end[order]
        if len(start):
            reach = np.maximum.accumulate(end)
            opens = np.ones(len(start), bool)
            opens[1:] = start[1:] > reach[:-1]
            start = start[opens]
            end = np.maximum.reduceat(reach, np.flatnonzero(opens))
        lengths = end - start
        return cls(start, end, (np.cumsum(lengths) - lengths).astype(np.int64))

    def covered(self, x: Ints) -> Ints:
        """Total covered length before each time in `x` (a cumulative measure)."""
        if not len(self.start):
            # Nothing covered, e.g. a detector with no on-time all night.
            return np.zeros(np.shape(x), np.int64)
        k = np.searchsorted(self.start, x, side="right") - 1
        inside = k >= 0
        kk = np.where(inside, k, 0)
        part = np.clip(x - self.start[kk], 0, self.end[kk] - self.start[kk])
        return np.where(inside, self.before[kk] + part, 0)

    def between(self, lo: Ints, hi: Ints) -> Ints:
        """Covered length inside each [lo, hi)."""
        return self.covered(hi) - self.covered(lo)


class PhaseTimeline(NamedTuple):
    """A phase's changes (begin green 1, yellow 8, red clearance 10) in time order."""

    t: Ints
    code: Ints

    @classmethod
    def of(cls, log: SignalLog, phase: int) -> PhaseTimeline:
        """The timeline of one phase of a signal."""
        mask = np.isin(log.code, _PHASE_CHANGES) & (log.param == phase)
        return cls(log.t[mask], log.code[mask])

    def state_at(self, x: Ints) -> Ints:
        """The phase's state (1, 8 or 10) at each time; a change at exactly x has happened.

        Before the first change the state is inferred from it: a yellow can only end a green.
        """
        k = np.searchsorted(self.t, x, side="right") - 1
        before = _STATE_BEFORE[int(self.code[0])]
        return np.where(k >= 0, self.code[np.maximum(k, 0)], before)

    def greens(self, start: int, end: int) -> Intervals:
        """Green intervals, from begin green to the next change, inside [start, end]."""
        first = np.flatnonzero(self.code == BEGIN_GREEN)
        nxt = np.append(self.t, end)[first + 1]
        lo, hi = self.t[first], nxt
        if self.code[0] == BEGIN_YELLOW:
            lo, hi = np.append(start, lo), np.append(self.t[0], hi)
        return Intervals.union(lo, hi)


def detector_on(log: SignalLog, channels: Sequence[int]) -> Intervals:
    """Union of the on-intervals of these detector channels, lost events imputed.

    An on after an on lost its off: within RAPID_REPEAT_MS the detector is taken as never
    off, otherwise off at the midpoint; an off after an off lost its on, put at the midpoint.
    A first event that is an off means the detector was on since the log began.
    """
    starts: list[Ints] = []
    ends: list[Ints] = []
    for channel in channels:
        mask = np.isin(log.code, (DETECTOR_ON, DETECTOR_OFF)) & (log.param == channel)
        t, on = log.t[mask], log.code[mask] == DETECTOR_ON
        if not len(t):
            continue
        gap = np.diff(t)
        lost_off = on[1:] & on[:-1]
        lost_on = ~on[1:] & ~on[:-1]
        mid = t[:-1] + gap // 2
        off_at = np.where(gap <= RAPID_REPEAT_MS, t[1:], mid)[lost_off]
        on_at = mid[lost_on]
        times = np.concatenate((t, off_at, on_at))
        # At equal times an imputed off sorts before the real on that follows it.
        states = np.concatenate((on, np.zeros(len(off_at), bool), np.ones(len(on_at), bool)))
        order = np.lexsort((states, times))
        times, states = times[order], states[order]
        previous = np.concatenate(([not states[0]], states[:-1]))
        rise, fall = times[states & ~previous], times[~states & previous]
        if not states[0]:
            rise = np.append(log.start, rise)
        if states[-1]:
            fall = np.append(fall, log.end)
        starts.append(rise)
        ends.append(fall)
    if not starts:
        return Intervals.union(np.empty(0, np.int64), np.empty(0, np.int64))
    return Intervals.union(np.concatenate(starts), np.concatenate(ends))


class Bins(NamedTuple):
    """A run of consecutive bins: index of the first, how many, length in ms."""

    first: int
    size: int
    ms: int

    @classmethod
    def spanning(cls, log: SignalLog, minutes: int) -> Bins:
        """The bins from the log's first event to its last."""
        ms = minutes * 60_000
        first, last = bin_index(log, np.array([log.start, log.end]), ms)
        return cls(int(first), int(last - first) + 1, ms)

    def tally(self, log: SignalLog, t: Ints, weights: NDArray[Any] | None = None) -> Ints:
        """Count (or sum `weights` of) the times falling in each bin."""
        return self.weigh(log, t, weights).astype(np.int64)

    def weigh(self, log: SignalLog, t: Ints, weights: NDArray[Any] | None) -> Floats:
        """Sum `weights` (1 each when None) of the times falling in each bin."""
        index = bin_index(log, t, self.ms) - self.first
        inside = (index >= 0) & (index < self.size)
        w = None if weights is None else weights[inside]
        total: Floats = np.bincount(index[inside], weights=w, minlength=self.size).astype(
            np.float64)
        return total

    def edges(self, log: SignalLog) -> Ints:
        """Bin boundaries (ms), clipped to the log's span: len = size + 1."""
        index = np.arange(self.size + 1) + self.first
        return np.clip(index * self.ms - _offset_ms(log), log.start, log.end)


def bin_index(log: SignalLog, t: Ints, bin_ms: int) -> Ints:
    """Bin of each time, bins aligned to the local wall clock (offset at the log's start)."""
    return (t + _offset_ms(log)) // bin_ms


def bin_start(log: SignalLog, index: int, bin_ms: int) -> datetime:
    """Start of a bin as an aware local time."""
    return datetime.fromtimestamp((index * bin_ms - _offset_ms(log)) / 1000, log.zone)


def _offset_ms(log: SignalLog) -> int:
    offset = datetime.fromtimestamp(log.start / 1000, log.zone).utcoffset()
    return 0 if offset is None else int(offset.total_seconds() * 1000)
