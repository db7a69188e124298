"""Measures on the logs that broke them: a quiet night, empty windows, loose phases and loops.

Every case goes through `phase_measures` and `detector_health`, the code path of
/api/signals/{id}/measures, without a failure list: any error fails the test.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from feeds.isolation import MeasureFailure
from feeds.signals import codes, measures
from feeds.signals.detectors import DetectorConfig, detectors_from_features, parse_detector_csv
from feeds.signals.events import SignalEvent, parse_csv
from feeds.signals.health import detector_health
from feeds.signals.measures import PhaseMeasures, phase_measures
from feeds.signals.timeline import Intervals
from tests.conftest import shared_file
from tests.feeds.signals.night import CYCLE_S, LEFT_TURNS, NIGHT, SIGNAL, night_cycles
from tests.ioc.conftest import PACK

EMPTY = np.empty(0, np.int64)


def test_an_empty_set_of_intervals_covers_nothing() -> None:
    empty = Intervals.union(EMPTY, EMPTY)
    assert empty.between(np.array([0, 5, 7]), np.array([10, 20, 7])).tolist() == [0, 0, 0]
    assert empty.covered(np.array([-3, 0, 10**12])).tolist() == [0, 0, 0]
    assert Intervals.union(empty.start, empty.end).between(EMPTY, EMPTY).tolist() == []


def test_intervals_still_add_up_around_the_empty_case() -> None:
    merged = Intervals.union(np.array([5, 0, 20]), np.array([10, 7, 30]))
    assert (merged.start.tolist(), merged.end.tolist(), merged.before.tolist()) == (
        [0, 20], [10, 30], [0, 10])
    assert merged.between(np.array([0, 8, 30]), np.array([25, 100, 31])).tolist() == [15, 12, 0]


def _config() -> list[DetectorConfig]:
    return detectors_from_features(
        [f for f in PACK.asset_features("signals") if f["properties"]["id"] == SIGNAL])


def _by_phase(rows: list[PhaseMeasures]) -> dict[int, PhaseMeasures]:
    assert len({r.bin_start for r in rows}) == 1
    return {r.phase: r for r in rows}


def test_a_quiet_night_of_full_cycles_gives_every_measure() -> None:
    config = _config()
    assert {d.phase for d in config if d.function == "presence"} >= set(LEFT_TURNS)
    events = night_cycles()
    failures: list[MeasureFailure] = []
    rows = _by_phase(phase_measures(events, config, failures=failures))
    assert failures == []
    assert set(rows) == {1, 2, 4, 5, 6, 8}
    for phase in LEFT_TURNS:
        m = rows[phase]
        assert m.bin_start == NIGHT and m.observed_s == 24 * CYCLE_S
        assert m.unavailable == ()
        # No vehicle: nothing arrived, so no share of arrivals on green and no platoon ratio.
        assert (m.volume, m.arrivals_on_green, m.aog_share, m.platoon_ratio) == (0, 0, None, None)
        assert m.green_s == 24 * 5 and m.gap_outs == 24
        # Every cycle is judged; the loops were never occupied: no split failure, 0 occupancy.
        assert (m.sf_cycles, m.split_failures, m.mean_gor, m.mean_ror5) == (24, 0, 0.0, 0.0)
    through = rows[2]
    assert (through.volume, through.arrivals_on_green, through.aog_share) == (12, 12, 1.0)
    assert through.sf_cycles == 24 and through.mean_gor == pytest.approx(12 * 0.15 / 24)
    assert detector_health(events, config, NIGHT, NIGHT + timedelta(minutes=15)) == []


def test_a_night_without_a_single_actuation_anywhere() -> None:
    rows = _by_phase(phase_measures(night_cycles(through_vehicles=False), _config()))
    assert all(m.volume == 0 and m.aog_share is None and m.mean_gor == 0.0
               for m in rows.values())


def _sample() -> tuple[list[SignalEvent], list[DetectorConfig]]:
    events = parse_csv(shared_file("signals/atspm-sample/sample_raw_data.csv").read_bytes())
    config = parse_detector_csv(shared_file("signals/atspm-sample/sample_config.csv")
                                .read_bytes())
    return sorted(events.observations, key=lambda e: e.time), config.observations


def _window(events: list[SignalEvent], start_s: float, length_s: float) -> list[SignalEvent]:
    first = events[0].time + timedelta(seconds=start_s)
    return [e for e in events if first <= e.time < first + timedelta(seconds=length_s)]


def _measure(events: list[SignalEvent], config: list[DetectorConfig]) -> list[PhaseMeasures]:
    rows = phase_measures(events, config)
    if events:
        detector_health(events, config, events[0].time, events[-1].time)
    return rows


def test_the_real_sample_with_its_loops_silent_still_judges_cycles() -> None:
    events, config = _sample()
    quiet = [e for e in _window(events, 0, 900)
             if e.event_code not in (codes.DETECTOR_ON, codes.DETECTOR_OFF)]
    rows = _measure(quiet, config)
    stop_bar = {d.phase for d in config if d.function == "presence"}
    judged = [r for r in rows if r.phase in stop_bar and r.sf_cycles]
    assert {r.phase for r in judged} == stop_bar
    assert all(r.mean_gor == 0.0 and r.split_failures == 0 and r.volume == 0 for r in judged)


def test_the_real_sample_in_short_windows_and_single_events() -> None:
    events, config = _sample()
    for start_s in range(0, 7200, 450):
        for length_s in (0.5, 2, 10, 60):
            _measure(_window(events, start_s, length_s), config)
    for code in sorted({e.event_code for e in events}):
        event = next(e for e in events if e.event_code == code)
        for m in _measure([event], config):
            assert m.observed_s == 0 and m.green_s == 0 and m.sf_cycles == 0
    assert _measure([], config) == []


def test_phases_without_detectors_and_detectors_without_phases() -> None:
    events, config = _sample()
    window = _window(events, 0, 900)
    bare = _measure(window, [])
    assert {r.phase for r in bare} == {2, 5, 6, 8}
    assert all(r.volume == 0 and r.sf_cycles == 0 and r.yellow_actuations == 0 for r in bare)
    unheard = DetectorConfig(config[0].signal_id, 99, 9, "presence")
    rows = _measure(window, [*config[:2], unheard])
    ghost = [r for r in rows if r.phase == 9]
    assert ghost and all(r.green_s == 0 and r.aog_share is None and r.sf_cycles == 0
                         for r in ghost)
    loops = {e.parameter for e in window if e.event_code == codes.DETECTOR_ON}
    assert loops - {d.channel for d in config}  # channels logged that no phase owns


def test_a_green_and_yellow_logged_at_once_is_not_judged() -> None:
    config = [DetectorConfig("S", 2, 2, "presence")]
    t0 = NIGHT

    def ev(s: float, code: int, param: int) -> SignalEvent:
        return SignalEvent("S", t0 + timedelta(seconds=s), code, param)

    events = [ev(0, codes.BEGIN_GREEN, 2), ev(0, codes.BEGIN_YELLOW, 2),
              ev(3, codes.BEGIN_RED_CLEARANCE, 2), ev(40, codes.BEGIN_GREEN, 2),
              ev(41, codes.DETECTOR_ON, 2), ev(45, codes.DETECTOR_OFF, 2),
              ev(50, codes.BEGIN_YELLOW, 2), ev(53, codes.BEGIN_RED_CLEARANCE, 2),
              ev(80, codes.BEGIN_GREEN, 2)]
    (m,) = phase_measures(events, config)
    assert (m.sf_cycles, m.mean_gor, m.mean_ror5) == (1, 0.4, 0.0)


def test_a_measure_that_raises_for_one_phase_leaves_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = measures.split_failure_bins

    def broken(log: Any, timeline: Any, channels: Any, *args: Any, **kwargs: Any) -> Any:
        if log.signal_id == SIGNAL and list(channels) == [5]:  # phase 5's stop-bar loop
            raise IndexError("index 0 is out of bounds for axis 0 with size 0")
        return real(log, timeline, channels, *args, **kwargs)

    monkeypatch.setattr(measures, "split_failure_bins", broken)
    events = night_cycles() + night_cycles("sig-other", cycles=3)
    config = [*_config(), DetectorConfig("sig-other", 1, 1, "presence")]
    failures: list[MeasureFailure] = []
    rows = phase_measures(events, config, failures=failures)
    (failure,) = failures
    assert (failure.measure, failure.asset_id, failure.part) == ("split_failures", SIGNAL,
                                                                 "phase 5")
    assert failure.detail.startswith(f"{len(night_cycles())} events from 2026-11-23T02:00:00")
    assert failure.reason == "phase 5: IndexError: index 0 is out of bounds for axis 0 with size 0"
    hit = next(r for r in rows if r.signal_id == SIGNAL and r.phase == 5)
    assert hit.unavailable == ("split_failures",)
    assert (hit.sf_cycles, hit.split_failures, hit.mean_gor, hit.mean_ror5) == (None,) * 4
    assert (hit.green_s, hit.gap_outs, hit.volume) == (120, 24, 0)
    others = [r for r in rows if r is not hit]
    assert {(r.signal_id, r.phase) for r in others} >= {(SIGNAL, 1), ("sig-other", 1)}
    assert all(r.unavailable == () and r.sf_cycles is not None for r in others)
    with pytest.raises(IndexError):
        phase_measures(events, config)
