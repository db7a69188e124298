"""Unit status as events arrive: changes reported at once, the rest restated every 5 minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feeds.signals.codes import DETECTOR_ON, UNIT_FLASH_STATUS
from feeds.signals.events import SignalEvent
from feeds.signals.tracker import StatusTracker

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
HERE = {"a": (105.82, 21.03), "b": (105.83, 21.02), "silent": (105.84, 21.01)}


def _traffic(at: datetime, *signals: str) -> list[SignalEvent]:
    return [SignalEvent(s, at, DETECTOR_ON, 5) for s in signals]


def _states(statuses: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {s.signal_id: s.state for s in statuses}


def test_changes_are_reported_at_once_and_unchanged_units_every_five_minutes() -> None:
    tracker = StatusTracker(HERE)
    assert _states(tracker.observe(_traffic(T0, "a", "b"))) == {"a": "normal", "b": "normal"}
    assert tracker.observe(_traffic(T0 + timedelta(minutes=1), "a", "b")) == []
    flash = SignalEvent("b", T0 + timedelta(minutes=2), UNIT_FLASH_STATUS, 6)
    reported = tracker.observe([*_traffic(T0 + timedelta(minutes=2), "a"), flash])
    assert _states(reported) == {"b": "flash"}
    assert reported[0].reason == "mmu"
    later = tracker.observe(_traffic(T0 + timedelta(minutes=5), "a", "b"))
    assert _states(later) == {"a": "normal"}  # restated; b changed only 3 minutes ago


def test_a_pack_signal_that_never_reports_becomes_comm_lost() -> None:
    tracker = StatusTracker(HERE)
    first = tracker.observe(_traffic(T0, "a", "b"))
    assert "silent" not in _states(first)
    later = tracker.observe(_traffic(T0 + timedelta(minutes=6), "a", "b"))
    assert _states(later)["silent"] == "comm_lost"
