"""A condition over time (pure): raising after the minimum duration, clearing with hysteresis,
and a released condition (its situation ended by an operator) raised again only while it
still holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ioc.situations.conditions import ConditionState, Thresholds, advance, release, step

T0 = datetime(2026, 3, 3, 19, 30, tzinfo=UTC)
LIMITS = Thresholds(on=1.0, off=0.0, min_duration=timedelta(seconds=60),
                    clear_duration=timedelta(seconds=120))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def raised() -> ConditionState:
    state = ConditionState()
    assert step(state, 1.0, at(0), LIMITS) is None
    assert step(state, 1.0, at(60), LIMITS) == "raised"
    return state


def test_a_released_condition_that_holds_is_raised_again_after_the_minimum_duration() -> None:
    state = raised()
    assert release(state, at(90), LIMITS) is None
    assert state.raised and state.released
    assert step(state, 1.0, at(120), LIMITS) is None  # 30 s since the release
    assert advance(state, at(149), LIMITS) is None
    assert advance(state, at(150), LIMITS) == "reraised"
    assert state.raised and not state.released
    assert advance(state, at(400), LIMITS) is None  # once


def test_a_zero_minimum_duration_raises_again_at_the_release() -> None:
    instant = Thresholds(on=1.0, off=0.0)
    state = ConditionState()
    assert step(state, 1.0, at(0), instant) == "raised"
    assert release(state, at(5), instant) == "reraised"


def test_a_released_condition_that_stops_holding_starts_counting_again() -> None:
    state = raised()
    release(state, at(60), LIMITS)
    assert step(state, 0.5, at(100), LIMITS) is None  # between the thresholds: not holding
    assert step(state, 1.0, at(110), LIMITS) is None
    assert step(state, 1.0, at(169), LIMITS) is None
    assert step(state, 1.0, at(170), LIMITS) == "reraised"


def test_a_released_condition_clears_as_before_and_is_released_no_more() -> None:
    state = raised()
    release(state, at(70), LIMITS)
    assert step(state, 0.0, at(80), LIMITS) is None
    assert step(state, 0.0, at(200), LIMITS) == "cleared"
    assert not state.raised and not state.released
    # A later fault raises after its own minimum duration, as any new one.
    assert step(state, 1.0, at(300), LIMITS) is None
    assert step(state, 1.0, at(360), LIMITS) == "raised"


def test_only_a_raised_condition_is_released_and_only_once() -> None:
    state = ConditionState()
    assert release(state, at(0), LIMITS) is None and not state.released
    state = raised()
    release(state, at(70), LIMITS)
    holding = state.holding_since
    assert release(state, at(100), LIMITS) is None and state.holding_since == holding


def test_a_reading_that_arrives_after_time_was_advanced_past_it_still_counts() -> None:
    # A detector on at 0 s, the engine's tick lets time pass to 30 s (readings lag their
    # source), then the off at 1.3 s arrives: it is newer than the last reading, so the
    # detector was on for 1.3 s, not stuck on. (A night at 60x opened "stuck on" this way.)
    state = ConditionState()
    assert step(state, 1.0, at(0), LIMITS) is None
    assert advance(state, at(30), LIMITS) is None
    assert step(state, 0.0, at(1.3), LIMITS) is None
    assert advance(state, at(120), LIMITS) is None
    assert not state.raised
    # An older repeat of a report is still ignored.
    assert step(state, 1.0, at(0), LIMITS) is None
    assert advance(state, at(200), LIMITS) is None
    assert not state.raised
