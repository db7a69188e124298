"""ATSPM measures per signal, phase and time bin, computed from controller event logs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import numpy as np

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
from feeds.signals.split_failures import split_failure_bins
from feeds.signals.timeline import (
    Bins,
    Ints,
    PhaseTimeline,
    SignalLog,
    bin_index,
    bin_start,
    split_by_signal,
)

BIN_MINUTES = 15
_PHASE_CODES = (BEGIN_GREEN, BEGIN_YELLOW, BEGIN_RED_CLEARANCE, GAP_OUT, MAX_OUT, FORCE_OFF,
                BEGIN_WALK, PED_CALL)


class PhaseMeasures(NamedTuple):
    """The measures of one phase of one signal over one bin (see `phase_measures`)."""

    signal_id: str
    phase: int
    bin_start: datetime
    observed_s: float
    volume: int
    arrivals_on_green: int
    aog_share: float | None
    green_s: float
    platoon_ratio: float | None
    gap_outs: int
    max_outs: int
    force_offs: int
    split_p85_s: float | None
    ped_calls: int
    walks: int
    yellow_actuations: int
    red_actuations: int
    severe_red_actuations: int
    sf_cycles: int
    split_failures: int
    mean_gor: float | None
    mean_ror5: float | None

    def termination_share(self, kind: str) -> float | None:
        """Share of the bin's terminations that were "gap_outs", "max_outs" or "force_offs"."""
        total = self.gap_outs + self.max_outs + self.force_offs
        return getattr(self, kind) / total if total else None


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
    """
    by_signal: dict[str, list[DetectorConfig]] = defaultdict(list)
    for det in detectors:
        by_signal[det.signal_id].append(det)
    out: list[PhaseMeasures] = []
    for log in split_by_signal(events):
        config = by_signal.get(log.signal_id, [])
        bins = Bins.spanning(log, bin_minutes)
        phases = {d.phase for d in config}
        phases.update(int(p) for p in np.unique(log.param[np.isin(log.code, _PHASE_CODES)]))
        for phase in sorted(phases):
            out.extend(_phase(
                log, phase, [d for d in config if d.phase == phase], bins,
                round(red_window_s * 1000), occupancy_threshold, round(severe_red_s * 1000),
            ))
    return out


def _phase(
    log: SignalLog, phase: int, config: list[DetectorConfig], bins: Bins,
    red_window_ms: int, threshold: float, severe_ms: int,
) -> list[PhaseMeasures]:
    timeline = PhaseTimeline.of(log, phase)
    known = len(timeline.t) > 0
    arrivals = _arrivals(log, [d for d in config if d.function == "advance"])
    volume = bins.tally(log, arrivals)
    on_green = np.zeros(bins.size, np.int64)
    green = np.zeros(bins.size, np.int64)
    edges = bins.edges(log)
    if known:
        on_green = bins.tally(log, arrivals, timeline.state_at(arrivals) == BEGIN_GREEN)
        green = timeline.greens(log.start, log.end).between(edges[:-1], edges[1:])
    observed = np.diff(edges)
    stop_bar = [d.channel for d in config if d.function == "presence"]
    yellow_red = [d.channel for d in config if d.function == "yellow_red"]
    yellow, red, severe = _yellow_red(log, timeline, yellow_red, bins, severe_ms)
    sf = split_failure_bins(log, timeline, stop_bar, bins, red_window_ms=red_window_ms,
                            threshold=threshold)
    counts = {code: bins.tally(log, log.times(code, phase))
              for code in (GAP_OUT, MAX_OUT, FORCE_OFF, PED_CALL, BEGIN_WALK)}
    splits = _split_p85(log, phase, bins)
    rows = []
    for i in range(bins.size):
        share = float(on_green[i] / volume[i]) if known and volume[i] else None
        ratio = float(green[i] / observed[i]) if observed[i] else 0.0
        rows.append(PhaseMeasures(
            log.signal_id, phase, bin_start(log, bins.first + i, bins.ms),
            float(observed[i]) / 1000, int(volume[i]), int(on_green[i]), share,
            float(green[i]) / 1000, share / ratio if share is not None and ratio else None,
            int(counts[GAP_OUT][i]), int(counts[MAX_OUT][i]), int(counts[FORCE_OFF][i]),
            splits[i], int(counts[PED_CALL][i]), int(counts[BEGIN_WALK][i]),
            int(yellow[i]), int(red[i]), int(severe[i]),
            int(sf.cycles[i]), int(sf.failures[i]),
            float(sf.gor_sum[i] / sf.cycles[i]) if sf.cycles[i] else None,
            float(sf.ror_sum[i] / sf.cycles[i]) if sf.cycles[i] else None,
        ))
    return rows


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
