"""ATSPM measures per signal, phase and time bin, computed from controller event logs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple, TypeVar

import numpy as np

from feeds.isolation import Isolation, MeasureFailure
from feeds.signals.codes import (
    BEGIN_GREEN,
    BEGIN_RED_CLEARANCE,
    BEGIN_WALK,
    BEGIN_YELLOW,
    DETECTOR_ON,
    END_RED_CLEARANCE,
    FORCE_OFF,
    GAP_OUT,
    MAX_OUT,
    PED_CALL,
)
from feeds.signals.detectors import DetectorConfig
from feeds.signals.events import SignalEvent
from feeds.signals.split_failures import SplitFailureBins, split_failure_bins
from feeds.signals.timeline import (
    Bins,
    Ints,
    PhaseTimeline,
    SignalLog,
    bin_index,
    bin_start,
    split_by_signal,
)

T = TypeVar("T")
BIN_MINUTES = 15
_PHASE_CODES = (BEGIN_GREEN, BEGIN_YELLOW, BEGIN_RED_CLEARANCE, GAP_OUT, MAX_OUT, FORCE_OFF,
                BEGIN_WALK, PED_CALL)


class PhaseMeasures(NamedTuple):
    """The measures of one phase of one signal over one bin (see `phase_measures`).

    A measure that raised for this phase is None here and named in `unavailable`.
    """

    signal_id: str
    phase: int
    bin_start: datetime
    observed_s: float
    volume: int | None
    arrivals_on_green: int | None
    aog_share: float | None
    green_s: float | None
    platoon_ratio: float | None
    gap_outs: int | None
    max_outs: int | None
    force_offs: int | None
    split_p85_s: float | None
    ped_calls: int | None
    walks: int | None
    yellow_actuations: int | None
    red_actuations: int | None
    severe_red_actuations: int | None
    sf_cycles: int | None
    split_failures: int | None
    mean_gor: float | None
    mean_ror5: float | None
    unavailable: tuple[str, ...] = ()

    def termination_share(self, kind: str) -> float | None:
        """Share of the bin's terminations that were "gap_outs", "max_outs" or "force_offs"."""
        if self.gap_outs is None or self.max_outs is None or self.force_offs is None:
            return None
        total = self.gap_outs + self.max_outs + self.force_offs
        return float(getattr(self, kind) / total) if total else None


class DetectorActuations(NamedTuple):
    """Detector-on events (82) of one channel in one bin."""

    signal_id: str
    channel: int
    bin_start: datetime
    actuations: int


def phase_measures(
    events: Sequence[SignalEvent],
    detectors: Sequence[DetectorConfig],
    *,
    bin_minutes: int = BIN_MINUTES,
    red_window_s: float = 5.0,
    occupancy_threshold: float = 0.79,
    severe_red_s: float = 4.0,
    failures: list[MeasureFailure] | None = None,
) -> list[PhaseMeasures]:
    """Per signal, phase and bin (aligned to the local clock), from exact-duplicate-free events.

    - volume: detector-on (82) of the phase's advance detectors, each shifted by its travel
      time (distance / speed) to the stop bar and binned at that arrival.
    - arrivals on green: those arrivals in [begin green 1, begin yellow 8);
      aog_share = arrivals_on_green / volume.
    - green_s: green time in the bin; platoon_ratio = aog_share / (green_s / observed_s).
    - gap/max/force-offs: events 4, 5, 6 per phase (shares via `termination_share`).
    - split_p85_s: 85th percentile of the splits begun in the bin, a split running from
      begin green (1) to the end of that phase's red clearance (11).
    - ped_calls: events 45; walks: events 21 (begin walk).
    - yellow/red actuations: detector-on at "yellow_red" detectors (past the stop line) during
      [8, 10) and [10, next 1) of a 1→8→10 cycle, binned at begin red; severe when more than
      `severe_red_s` into red.
    - split failures: see `split_failure_bins` (GOR and ROR5 > occupancy_threshold).

    Arrivals after the last event of a log are dropped: their signal state is unobserved.

    With a `failures` list, a measure that raises for one phase of one signal is recorded
    there and left None in that phase's rows; every other measure and signal still comes out.
    """
    by_signal: dict[str, list[DetectorConfig]] = defaultdict(list)
    for det in detectors:
        by_signal[det.signal_id].append(det)
    out: list[PhaseMeasures] = []
    for log in split_by_signal(events):
        config = by_signal.get(log.signal_id, [])
        guard = Isolation(log.signal_id, _describe(log, len(config)), failures)
        bins = Bins.spanning(log, bin_minutes)
        phases = {d.phase for d in config}
        phases.update(int(p) for p in np.unique(log.param[np.isin(log.code, _PHASE_CODES)]))
        for phase in sorted(phases):
            out.extend(_phase(
                log, phase, [d for d in config if d.phase == phase], bins,
                round(red_window_s * 1000), occupancy_threshold, round(severe_red_s * 1000),
                guard,
            ))
    return out


def _describe(log: SignalLog, detectors: int) -> str:
    """The input of one signal's measures, in a line for a failure's log."""
    first, last = (datetime.fromtimestamp(t / 1000, log.zone) for t in (log.start, log.end))
    return (f"{len(log.t)} events from {first.isoformat(timespec='seconds')} to "
            f"{last.isoformat(timespec='seconds')}, {detectors} detectors configured")


class _Parts:
    """The measures of one phase, each run apart; a failed one is None and named."""

    def __init__(self, guard: Isolation, phase: int) -> None:
        self._guard = guard
        self._part = f"phase {phase}"
        self.unavailable: list[str] = []

    def run(self, measure: str, compute: Callable[[], T]) -> T | None:
        """The measure's result, or None (and the measure named unavailable) if it raised."""
        result = self._guard.attempt(measure, compute, self._part)
        if result is None:
            self.unavailable.append(measure)
        return result


def _phase(
    log: SignalLog, phase: int, config: list[DetectorConfig], bins: Bins,
    red_window_ms: int, threshold: float, severe_ms: int, guard: Isolation,
) -> list[PhaseMeasures]:
    timeline = PhaseTimeline.of(log, phase)
    edges = bins.edges(log)
    observed = np.diff(edges)
    stop_bar = [d.channel for d in config if d.function == "presence"]
    yellow_red = [d.channel for d in config if d.function == "yellow_red"]
    parts = _Parts(guard, phase)
    arrivals = parts.run("arrivals_on_green", lambda: _arrivals_on_green(
        log, timeline, [d for d in config if d.function == "advance"], bins))
    green = parts.run("green_time", lambda: _green(log, timeline, edges))
    terminations = parts.run("terminations", lambda: [
        bins.tally(log, log.times(code, phase)) for code in (GAP_OUT, MAX_OUT, FORCE_OFF)])
    pedestrians = parts.run("pedestrians", lambda: [
        bins.tally(log, log.times(code, phase)) for code in (PED_CALL, BEGIN_WALK)])
    splits = parts.run("split_p85", lambda: _split_p85(log, phase, bins))
    yr = parts.run("yellow_red", lambda: _yellow_red(log, timeline, yellow_red, bins, severe_ms))
    sf = parts.run("split_failures", lambda: split_failure_bins(
        log, timeline, stop_bar, bins, red_window_ms=red_window_ms, threshold=threshold))
    unavailable = tuple(parts.unavailable)
    rows = []
    for i in range(bins.size):
        volume, on_green, share = (None, None, None) if arrivals is None else (
            int(arrivals[0][i]), int(arrivals[1][i]), arrivals[2][i])
        green_s = None if green is None else float(green[i]) / 1000
        ratio = float(green[i] / observed[i]) if green is not None and observed[i] else 0.0
        gap_outs, max_outs, force_offs = _at(terminations, i, 3)
        ped_calls, walks = _at(pedestrians, i, 2)
        in_yellow, in_red, severe = _at(yr, i, 3)
        cycles, failed, gor, ror = _split_failures_at(sf, i)
        rows.append(PhaseMeasures(
            log.signal_id, phase, bin_start(log, bins.first + i, bins.ms),
            float(observed[i]) / 1000, volume, on_green, share,
            green_s, share / ratio if share is not None and ratio else None,
            gap_outs, max_outs, force_offs, None if splits is None else splits[i],
            ped_calls, walks, in_yellow, in_red, severe, cycles, failed, gor, ror, unavailable,
        ))
    return rows


def _at(counts: Sequence[Ints] | None, i: int, n: int) -> list[int | None]:
    """The i-th bin of each of `n` count series, or n Nones when they are unavailable."""
    return [None] * n if counts is None else [int(c[i]) for c in counts]


def _split_failures_at(
    sf: SplitFailureBins | None, i: int
) -> tuple[int | None, int | None, float | None, float | None]:
    """Cycles, failures, mean GOR and mean ROR5 of one bin (None where none or unavailable)."""
    if sf is None:
        return None, None, None, None
    cycles = int(sf.cycles[i])
    if not cycles:
        return 0, 0, None, None
    return (cycles, int(sf.failures[i]), float(sf.gor_sum[i] / cycles),
            float(sf.ror_sum[i] / cycles))


def _arrivals_on_green(
    log: SignalLog, timeline: PhaseTimeline, advance: list[DetectorConfig], bins: Bins
) -> tuple[Ints, Ints, list[float | None]]:
    """Volume, arrivals on green and their share per bin (no share while the phase is unseen)."""
    arrivals = _arrivals(log, advance)
    volume = bins.tally(log, arrivals)
    if not len(timeline.t):
        return volume, np.zeros(bins.size, np.int64), [None] * bins.size
    on_green = bins.tally(log, arrivals, timeline.state_at(arrivals) == BEGIN_GREEN)
    return volume, on_green, [float(g / v) if v else None
                              for g, v in zip(on_green, volume, strict=True)]


def _green(log: SignalLog, timeline: PhaseTimeline, edges: Ints) -> Ints:
    """Green time (ms) in each bin; none while the phase has not been seen to change."""
    if not len(timeline.t):
        return np.zeros(len(edges) - 1, np.int64)
    return timeline.greens(log.start, log.end).between(edges[:-1], edges[1:])


def _arrivals(log: SignalLog, advance: list[DetectorConfig]) -> Ints:
    """Predicted stop-bar arrival times of the vehicles the advance detectors saw."""
    parts = [log.times(DETECTOR_ON, d.channel) + round(d.travel_s * 1000) for d in advance]
    arrivals = np.concatenate(parts) if parts else np.empty(0, np.int64)
    return arrivals[arrivals <= log.end]


def _split_p85(log: SignalLog, phase: int, bins: Bins) -> list[float | None]:
    """85th-percentile split (s) per bin of the splits that begin in it."""
    greens, ends = log.times(BEGIN_GREEN, phase), log.times(END_RED_CLEARANCE, phase)
    k = np.searchsorted(ends, greens)
    following = np.append(greens[1:], np.iinfo(np.int64).max)
    # A split whose red clearance end is missing (or comes after the next green) is unknown.
    whole = k < len(ends)
    whole[whole] &= ends[k[whole]] < following[whole]
    seconds = (ends[k[whole]] - greens[whole]) / 1000
    index = bin_index(log, greens[whole], bins.ms) - bins.first
    return [float(np.percentile(seconds[index == i], 85)) if np.any(index == i) else None
            for i in range(bins.size)]


def _yellow_red(
    log: SignalLog, timeline: PhaseTimeline, channels: list[int], bins: Bins, severe_ms: int
) -> tuple[Ints, Ints, Ints]:
    """Actuations in yellow, in red and severely late in red, binned at the cycle's begin red."""
    empty = np.zeros(bins.size, np.int64)
    code, t = timeline.code, timeline.t
    if len(code) < 3 or not channels:
        return empty, empty, empty
    hits = np.concatenate([log.times(DETECTOR_ON, c) for c in channels])
    k = np.searchsorted(t, hits, side="right") - 1
    padded = np.concatenate(([-1, -1], code, [-1]))  # index k maps to padded[k + 2]
    now, prev, prev2, nxt = padded[k + 2], padded[k + 1], padded[k], padded[k + 3]
    is_yellow = (now == BEGIN_YELLOW) & (prev == BEGIN_GREEN) & (nxt == BEGIN_RED_CLEARANCE)
    is_red = (now == BEGIN_RED_CLEARANCE) & (prev == BEGIN_YELLOW) & (prev2 == BEGIN_GREEN)
    t_padded = np.append(t, 0)
    red_start = np.where(is_yellow, t_padded[np.minimum(k + 1, len(t))], t_padded[k])
    severe = is_red & (hits - red_start > severe_ms)
    return (bins.tally(log, red_start[is_yellow]), bins.tally(log, red_start[is_red]),
            bins.tally(log, red_start[severe]))


def detector_actuations(
    events: Sequence[SignalEvent], *, bin_minutes: int = BIN_MINUTES
) -> list[DetectorActuations]:
    """Detector-on (82) counts per signal, channel and bin (bins with none are left out)."""
    bin_ms = bin_minutes * 60_000
    out: list[DetectorActuations] = []
    for log in split_by_signal(events):
        on = log.code == DETECTOR_ON
        keys = np.stack((log.param[on], bin_index(log, log.t[on], bin_ms)), axis=1)
        if not len(keys):
            continue
        unique, counts = np.unique(keys, axis=0, return_counts=True)
        out.extend(
            DetectorActuations(log.signal_id, int(ch), bin_start(log, int(b), bin_ms), int(n))
            for (ch, b), n in zip(unique, counts, strict=True)
        )
    return out
