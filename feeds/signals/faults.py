"""Faults a simulated controller can suffer: flash, a stuck detector, a power failure."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from feeds.signals.codes import (
    BEGIN_WALK,
    COORDINATED_PHASE_BEGIN,
    DETECTOR_OFF,
    DETECTOR_ON,
    PATTERN_CHANGE,
    PED_CALL,
    PHASE_INACTIVE,
    SOLID_DONT_WALK,
    TSP_CHECK_IN,
    TSP_CHECK_OUT,
)
from feeds.simulation import poisson

FaultKind = Literal["flash", "stuck_detector", "power_failure"]
FLASH_MMU = 6  # the conflict monitor forcing flash: the classic field fault


class Fault(NamedTuple):
    """One fault of one signal over [start, end).

    `value` is the NTCIP flash reason for "flash" (default mmu), the detector channel for
    "stuck_detector", unused for "power_failure".
    """

    signal_id: str
    kind: FaultKind
    start: datetime
    end: datetime
    value: int = FLASH_MMU

    def silences(self, code: int, parameter: int) -> bool:
        """Whether this fault suppresses an event the healthy controller would have logged."""
        if self.kind == "power_failure":
            return True
        if self.kind == "stuck_detector":
            return code in (DETECTOR_ON, DETECTOR_OFF) and parameter == self.value
        # In flash the controller stops cycling: no phase, pedestrian, coordination or TSP
        # events; detectors keep reporting.
        return (code <= PHASE_INACTIVE or BEGIN_WALK <= code <= SOLID_DONT_WALK
                or code == PED_CALL
                or PATTERN_CHANGE <= code <= COORDINATED_PHASE_BEGIN
                or TSP_CHECK_IN <= code <= TSP_CHECK_OUT)


def rare_faults(
    signals: Sequence[tuple[str, Sequence[int]]],
    start: datetime,
    days: float,
    *,
    per_signal_day: float = 0.02,
    rng: random.Random,
) -> list[Fault]:
    """A random schedule of rare faults: about `per_signal_day` per signal and day.

    `signals` are (signal id, detector channels). Flash lasts 10-60 min, a power failure
    5-45 min, a stuck detector 1-8 h (until a crew resets it).
    """
    faults = []
    for signal_id, channels in signals:
        count = poisson(rng, per_signal_day * days)
        for _ in range(count):
            at = start + timedelta(days=rng.uniform(0, days))
            kind = rng.choice(("flash", "power_failure", "stuck_detector") if channels
                              else ("flash", "power_failure"))
            if kind == "flash":
                faults.append(Fault(signal_id, "flash", at,
                                    at + timedelta(minutes=rng.uniform(10, 60))))
            elif kind == "power_failure":
                faults.append(Fault(signal_id, "power_failure", at,
                                    at + timedelta(minutes=rng.uniform(5, 45)), 0))
            else:
                faults.append(Fault(signal_id, "stuck_detector", at,
                                    at + timedelta(hours=rng.uniform(1, 8)),
                                    rng.choice(list(channels))))
    return sorted(faults, key=lambda f: f.start)
