"""Unit status: normal, flash with its reason, dark, communication lost, coordination failed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from feeds.signals import codes
from feeds.signals.events import SignalEvent
from feeds.signals.status import flash_reason, unit_status

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def ev(seconds: float, code: int, param: int = 0, signal: str = "S") -> SignalEvent:
    return SignalEvent(signal, T0 + timedelta(seconds=seconds), code, param, 105.8, 21.0)


def cycling(until_s: int, step: int = 30) -> list[SignalEvent]:
    """A controller cycling normally: a begin green every `step` seconds."""
    return [ev(t, codes.BEGIN_GREEN, 2) for t in range(0, until_s, step)]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_cycling_controller_is_normal() -> None:
    status = unit_status("S", cycling(600), at(600))
    assert (status.state, status.reason, status.since) == ("normal", None, None)
    assert (status.lon, status.lat) == (105.8, 21.0)


def test_flash_reports_its_ntcip_reason_until_not_flash() -> None:
    events = [*cycling(600), ev(100, codes.UNIT_FLASH_STATUS, 6)]
    status = unit_status("S", events, at(590))
    assert (status.state, status.reason, status.since) == ("flash", "mmu", at(100))
    events.append(ev(400, codes.UNIT_FLASH_STATUS, codes.FLASH_NOT_FLASH))
    assert unit_status("S", events, at(590)).state == "normal"
    assert unit_status("S", events, at(399)).reason == "mmu"  # replay at an earlier time
    assert [flash_reason(v) for v in (1, 3, 4, 5, 7, 8, 42)] == [
        "other", "automatic", "localManual", "faultMonitor", "startup", "preempt", "unknown(42)"]


def test_power_failure_is_dark_even_when_silent_then_restored() -> None:
    events = [*cycling(300), ev(300, codes.POWER_FAILURE)]
    dark = unit_status("S", events, at(3600))
    assert (dark.state, dark.reason, dark.since) == ("dark", "power failure", at(300))
    events += [ev(3600, codes.POWER_RESTORED), ev(3600, codes.UNIT_FLASH_STATUS, 7),
               ev(3610, codes.UNIT_FLASH_STATUS, 2), *[ev(3610 + t, 1, 2) for t in (0, 30)]]
    assert unit_status("S", events, at(3605)).reason == "startup"
    assert unit_status("S", events, at(3640)).state == "normal"


def test_silence_longer_than_the_limit_is_communication_lost() -> None:
    events = cycling(300)  # last event at 270 s
    assert unit_status("S", events, at(270 + 299)).state == "normal"
    lost = unit_status("S", events, at(270 + 301))
    assert (lost.state, lost.since) == ("comm_lost", at(270))
    short = unit_status("S", events, at(400), silence=timedelta(minutes=1))
    assert short.state == "comm_lost"
    nothing = unit_status("S", [ev(0, 1, 2, signal="other")], at(10), position=(105.9, 21.1))
    assert (nothing.state, nothing.since, nothing.lon) == ("comm_lost", None, 105.9)


def test_coordination_fails_without_coordinated_cycles_under_a_plan() -> None:
    plan = [ev(0, codes.PATTERN_CHANGE, 3), ev(0, codes.CYCLE_LENGTH_CHANGE, 120)]
    coordinated = [*plan, *cycling(1200),
                   *[ev(t, codes.COORDINATED_PHASE_BEGIN, 2) for t in range(0, 1200, 120)]]
    assert unit_status("S", coordinated, at(1200)).state == "normal"
    # The same controller stops logging coordinated phase begins after 600 s.
    broken = [e for e in coordinated
              if not (e.event_code == codes.COORDINATED_PHASE_BEGIN and e.time > at(600))]
    assert unit_status("S", broken, at(840)).state == "normal"  # within 3 cycles (360 s)
    status = unit_status("S", broken, at(1200))
    assert status.state == "coordination_failed"
    assert status.reason == "no coordinated cycles under pattern 3"
    assert status.since == at(600)


def test_coordination_fails_when_running_free_or_stuck_in_transition() -> None:
    plan = [ev(0, codes.PATTERN_CHANGE, 1), ev(0, codes.CYCLE_LENGTH_CHANGE, 100)]
    free = [*plan, *cycling(900), ev(600, codes.CYCLE_STATE, codes.CYCLE_STATE_FREE)]
    status = unit_status("S", free, at(900))
    assert (status.state, status.reason) == ("coordination_failed",
                                             "running free under pattern 1")
    stuck = [*plan, *cycling(900), *[ev(t, codes.CYCLE_STATE, 2) for t in range(0, 900, 100)]]
    status = unit_status("S", stuck, at(899))
    assert (status.reason, status.since) == ("stuck in transition under pattern 1", at(0))
    settled = [*plan, *cycling(900), ev(0, codes.CYCLE_STATE, 2), ev(100, codes.CYCLE_STATE, 3),
               *[ev(t, codes.CYCLE_STATE, codes.CYCLE_STATE_IN_STEP) for t in range(200, 900, 100)]]
    assert unit_status("S", settled, at(899)).state == "normal"


def test_a_free_pattern_is_never_a_coordination_failure() -> None:
    events = [ev(0, codes.PATTERN_CHANGE, codes.PATTERN_FREE), *cycling(3600)]
    assert unit_status("S", events, at(3600)).state == "normal"
