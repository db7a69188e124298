"""ATSPM measures on small hand-checked event sequences."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from feeds.signals import codes
from feeds.signals.detectors import DetectorConfig
from feeds.signals.events import SignalEvent
from feeds.signals.measures import detector_actuations, phase_measures
from feeds.signals.timeline import detector_on, split_by_signal

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=HANOI)
CONFIG = [
    DetectorConfig("S", 12, 2, "advance", distance_m=50, speed_kmh=36),  # 5 s to the stop bar
    DetectorConfig("S", 2, 2, "presence"),
    DetectorConfig("S", 32, 2, "yellow_red"),
]


def ev(seconds: float, code: int, param: int) -> SignalEvent:
    return SignalEvent("S", T0 + timedelta(seconds=seconds), code, param)


def one_phase() -> list[SignalEvent]:
    """Two complete cycles of phase 2 and the start of a third; the log ends at 200 s."""
    phase = [(10, 1), (40, 4), (40, 8), (43, 10), (45, 11), (70, 1), (100, 5), (100, 8),
             (103, 10), (106, 11), (130, 1)]
    advance = [0, 20, 34, 36, 60, 65, 66, 95, 124, 200]  # + 5 s: arrivals at the stop bar
    presence = [(8, 82), (38, 81), (44, 82), (47.5, 81), (60, 82), (99, 81), (102, 82),
                (110, 81)]
    exit_loop = [5, 41, 44, 48.5, 69, 71, 101, 104]
    return [
        *[ev(t, code, 2) for t, code in phase],
        *[ev(t, codes.DETECTOR_ON, 12) for t in advance],
        *[ev(t, code, 2) for t, code in presence],
        *[ev(t, codes.DETECTOR_ON, 32) for t in exit_loop],
        ev(50, codes.PED_CALL, 2), ev(70, codes.BEGIN_WALK, 2),
    ]


def test_every_measure_of_one_bin_by_hand() -> None:
    (m,) = phase_measures(one_phase(), CONFIG)
    assert (m.signal_id, m.phase, m.bin_start, m.observed_s) == ("S", 2, T0, 200.0)
    # Arrivals at 5 (red: before the first green), 25, 39 (green), 41 (yellow), 65 (red),
    # 70 (green: exactly at begin green), 71 (green), 100 (yellow: exactly at begin yellow),
    # 129 (red); 205 is after the log's end and is dropped.
    assert (m.volume, m.arrivals_on_green) == (9, 4)
    assert m.aog_share == pytest.approx(4 / 9)
    assert m.green_s == pytest.approx(30 + 30 + 70)
    assert m.platoon_ratio == pytest.approx((4 / 9) / (130 / 200))
    assert (m.gap_outs, m.max_outs, m.force_offs) == (1, 1, 0)
    assert m.termination_share("gap_outs") == 0.5
    # Splits 10→45 and 70→106 s; the third has not ended: 85th percentile of (35, 36).
    assert m.split_p85_s == pytest.approx(35.85)
    assert (m.ped_calls, m.walks) == (1, 1)
    # Cycle 1: GOR 28/30, ROR5 3.5/5; cycle 2: GOR 29/30, ROR5 5/5 → one split failure.
    assert (m.sf_cycles, m.split_failures) == (2, 1)
    assert m.mean_gor == pytest.approx((28 / 30 + 29 / 30) / 2)
    assert m.mean_ror5 == pytest.approx((0.7 + 1.0) / 2)
    # Exit loop: 41 and 101 in yellow; 44, 48.5, 69 and 104 in red, 48.5 and 69 over 4 s in;
    # 5 precedes any observed green and 71 is in green.
    assert (m.yellow_actuations, m.red_actuations, m.severe_red_actuations) == (2, 4, 2)


def test_a_log_that_starts_in_green_counts_its_opening_green() -> None:
    events = [ev(0, codes.DETECTOR_ON, 12), ev(20, 8, 2), ev(23, 10, 2), ev(60, 1, 2),
              ev(90, 8, 2)]
    (m,) = phase_measures(events, CONFIG)
    # Arrival at 5 s precedes a yellow: the phase was green since the log began.
    assert (m.volume, m.arrivals_on_green, m.green_s) == (1, 1, 20 + 30)


def test_bins_follow_the_local_clock_and_arrivals_land_in_their_own_bin() -> None:
    events = [ev(0, 1, 2), ev(14 * 60 + 57, codes.DETECTOR_ON, 12), ev(16 * 60, 8, 2)]
    first, second = phase_measures(events, CONFIG)
    assert (first.bin_start, first.volume) == (T0, 0)
    assert (second.bin_start, second.volume, second.arrivals_on_green) == (
        T0 + timedelta(minutes=15), 1, 1)
    assert (first.observed_s, second.observed_s) == (900.0, 60.0)
    assert second.green_s == 60.0


def test_duplicates_count_once_and_signals_stay_apart() -> None:
    events = one_phase()
    other = [e._replace(signal_id="T") for e in events]
    measures = phase_measures([*events, *events, *other], CONFIG)
    assert [(m.signal_id, m.volume) for m in measures] == [("S", 9), ("T", 0)]
    counts = {(a.signal_id, a.channel): a.actuations for a in detector_actuations(events * 2)}
    assert counts[("S", 12)] == 10 and counts[("S", 32)] == 8


def test_lost_detector_events_are_imputed() -> None:
    events = [ev(t, code, 7) for t, code in
              [(0, 82), (1, 82), (3, 81), (9, 81), (20, 82), (30, 82), (31, 81)]]
    events += [ev(2, codes.DETECTOR_OFF, 8), ev(40, codes.PHASE_ON, 2)]
    (log,) = split_by_signal(events)

    def spans(channels: list[int]) -> list[tuple[int, int]]:
        on = detector_on(log, channels)
        return [(int(a - log.start), int(b - log.start)) for a, b in zip(on.start, on.end,
                                                                          strict=True)]

    # 82 82 within 2 s: never off; 81 81: on at the midpoint (6 s); 82 82 10 s apart: off
    # at the midpoint (25 s).
    assert spans([7]) == [(0, 3000), (6000, 9000), (20000, 25000), (30000, 31000)]
    on = detector_on(log, [7])
    assert int(on.between(np.array([log.start]), np.array([log.end]))[0]) == 12_000
    assert spans([8]) == [(0, 2000)]  # its first event is an off: on since the log began
    assert spans([7, 8]) == [(0, 3000), (6000, 9000), (20000, 25000), (30000, 31000)]
