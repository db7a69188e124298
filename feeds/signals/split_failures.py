"""Split failures from stop-bar presence detection: green and first-5-s-of-red occupancy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from feeds.signals.codes import BEGIN_GREEN, BEGIN_RED_CLEARANCE, BEGIN_YELLOW
from feeds.signals.timeline import Bins, Floats, Ints, PhaseTimeline, SignalLog, detector_on


class SplitFailureBins(NamedTuple):
    """Per bin: cycles judged, split failures, and the sums of GOR and ROR5 over those cycles."""

    cycles: Ints
    failures: Ints
    gor_sum: Floats
    ror_sum: Floats


def split_failure_bins(
    log: SignalLog,
    timeline: PhaseTimeline,
    channels: Sequence[int],
    bins: Bins,
    *,
    red_window_ms: int,
    threshold: float,
) -> SplitFailureBins:
    """Judge every complete cycle of a phase and sum the results per bin.

    A cycle is begin green (1) → begin yellow (8) → begin red clearance (10), seen in that
    order, whose red window ends inside the log. With `on` the union of the phase's stop-bar
    presence detectors' on-time:

        GOR  = on-time in [green, yellow) / (yellow − green)
        ROR5 = on-time in [red, red_end) / (red_end − red),  red_end = min(red + 5 s, next green)
        split failure ⇔ GOR > threshold and ROR5 > threshold   (threshold 0.79)

    A cycle belongs to the bin holding the end of its red window, when it can first be judged.
    A cycle whose green and yellow were logged at the same instant has no GOR: it is not judged.
    """
    zeros = SplitFailureBins(np.zeros(bins.size, np.int64), np.zeros(bins.size, np.int64),
                             np.zeros(bins.size), np.zeros(bins.size))
    code, t = timeline.code, timeline.t
    if len(code) < 3 or not channels:
        return zeros
    starts = np.flatnonzero(
        (code[:-2] == BEGIN_GREEN) & (code[1:-1] == BEGIN_YELLOW)
        & (code[2:] == BEGIN_RED_CLEARANCE)
    )
    green, yellow, red = t[starts], t[starts + 1], t[starts + 2]
    after_red = np.append(t, np.iinfo(np.int64).max)[starts + 3]
    window_end = red + red_window_ms
    keep = (window_end <= log.end) & (yellow > green)
    green, yellow, red = green[keep], yellow[keep], red[keep]
    red_end = np.minimum(window_end[keep], after_red[keep])
    if not len(green):
        return zeros
    on = detector_on(log, channels)
    gor = on.between(green, yellow) / (yellow - green)
    ror = on.between(red, red_end) / (red_end - red)
    judged = window_end[keep]
    failed = ((gor > threshold) & (ror > threshold)).astype(np.int64)
    return SplitFailureBins(
        bins.tally(log, judged), bins.tally(log, judged, failed),
        bins.weigh(log, judged, gor), bins.weigh(log, judged, ror),
    )
