"""Detector health: the watchdog rules over a period the caller vouches is complete."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from feeds.signals import codes
from feeds.signals.detectors import DetectorConfig
from feeds.signals.events import SignalEvent
from feeds.signals.health import HealthIssue, detector_health

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = datetime(2025, 3, 3, tzinfo=HANOI)


def ev(at: datetime, code: int, param: int, signal: str = "S") -> SignalEvent:
    return SignalEvent(signal, at, code, param)


def spread(start: datetime, count: int, code: int, param: int, seconds: float = 30) -> list[
        SignalEvent]:
    return [ev(start + timedelta(seconds=i * seconds), code, param) for i in range(count)]


def pulses(start: datetime, count: int, channel: int) -> list[SignalEvent]:
    """A loop seeing `count` vehicles, one every 30 s, each for a second."""
    return [*spread(start, count, codes.DETECTOR_ON, channel),
            *spread(start + timedelta(seconds=1), count, codes.DETECTOR_OFF, channel)]


def kinds(issues: list[HealthIssue]) -> set[tuple[str, str, int | None]]:
    return {(i.signal_id, i.kind, i.subject) for i in issues}


def test_low_actuations_in_a_peak_window() -> None:
    config = [DetectorConfig("S", 2, 2, "presence"), DetectorConfig("S", 12, 2, "advance"),
              DetectorConfig("Q", 4, 4, "presence")]
    peak = DAY + timedelta(hours=7)
    logging = spread(peak, 120, codes.PHASE_ON, 2, 60)  # the controller logs all along
    events = [*logging, *pulses(peak, 60, 2), *pulses(peak, 10, 12)]
    issues = detector_health(events, config, peak, peak + timedelta(hours=2))
    assert kinds(issues) == {("S", "low_actuations", 12), ("Q", "low_actuations", 4)}
    low = next(i for i in issues if i.subject == 12)
    assert (low.start, low.end, low.value) == (peak, peak + timedelta(hours=2), 10)
    # A period that does not hold the whole window judges nothing.
    assert detector_health(events, config, peak, peak + timedelta(hours=1)) == []


def test_a_window_nobody_recorded_is_not_judged() -> None:
    config = [DetectorConfig("S", 2, 2, "presence")]
    # A first run at 10:00 on the second day: the day before, and its peaks, hold no data.
    today = DAY + timedelta(days=1)
    events = spread(today + timedelta(hours=10), 60, codes.PHASE_ON, 2, 60)
    assert detector_health(events, config, DAY, today + timedelta(hours=11)) == []
    # Recorded from 08:30 only: the 07:00-09:00 peak is not judged on its last half hour.
    late = [*spread(DAY + timedelta(hours=8, minutes=30), 60, codes.PHASE_ON, 2, 60),
            *pulses(DAY + timedelta(hours=8, minutes=30), 20, 2)]
    assert detector_health(late, config, DAY, DAY + timedelta(hours=10)) == []
    # Recorded all through the peak, the same quiet loop is found.
    whole = [*spread(DAY + timedelta(hours=7), 120, codes.PHASE_ON, 2, 60),
             *pulses(DAY + timedelta(hours=8, minutes=30), 20, 2)]
    assert kinds(detector_health(whole, config, DAY, DAY + timedelta(hours=10))) == {
        ("S", "low_actuations", 2)}


def test_overnight_max_outs_force_offs_and_a_stuck_ped_button() -> None:
    night = DAY + timedelta(hours=1)
    events = [
        *spread(night, 240, codes.PHASE_ON, 1, 60),  # the controller logs all night
        *spread(night, 56, codes.MAX_OUT, 4, 200), *spread(night, 4, codes.GAP_OUT, 4, 200),
        *spread(night, 30, codes.GAP_OUT, 2, 200), *spread(night, 30, codes.FORCE_OFF, 2, 200),
        *spread(night, 45, codes.FORCE_OFF, 8, 200),  # 100 % but under 50 terminations
        *spread(night, 201, codes.PED_CALL, 6, 60),
    ]
    issues = detector_health(events, [], night, night + timedelta(hours=4))
    assert kinds(issues) == {("S", "max_out", 4), ("S", "stuck_ped", 6)}
    max_out = next(i for i in issues if i.kind == "max_out")
    assert round(max_out.value, 3) == round(56 / 60, 3)


def test_too_few_records_in_a_whole_day() -> None:
    events = spread(DAY, 400, codes.PHASE_ON, 2, 216)  # all day long, but too few
    issues = detector_health(events, [], DAY, DAY + timedelta(days=1))
    assert kinds(issues) == {("S", "few_records", None)}
    busy = spread(DAY, 600, codes.PHASE_ON, 2, 144)
    assert detector_health(busy, [], DAY, DAY + timedelta(days=1)) == []


def test_a_detector_stuck_on_and_unrestored_faults() -> None:
    t = DAY + timedelta(hours=10)
    events = [
        *spread(t, 100, codes.PHASE_ON, 2),  # the controller keeps logging
        ev(t, codes.DETECTOR_ON, 5), ev(t + timedelta(minutes=5), codes.DETECTOR_OFF, 5),
        ev(t + timedelta(minutes=6), codes.DETECTOR_ON, 7),  # never off again
        ev(t, codes.DETECTOR_SHORTED_LOOP, 9),
        ev(t, codes.DETECTOR_OPEN_LOOP, 10), ev(t + timedelta(minutes=1), 83, 10),
    ]
    issues = detector_health(events, [], t, t + timedelta(hours=1))
    assert kinds(issues) == {("S", "stuck_on", 7), ("S", "detector_fault", 9)}
    stuck = next(i for i in issues if i.kind == "stuck_on")
    assert stuck.start == t + timedelta(minutes=6)
    assert stuck.end == t + timedelta(seconds=99 * 30)
