"""A rule's condition over one subject, in time: threshold, minimum duration, hysteresis.

Pure: no I/O. A condition is "raised" once its value has stayed past the `on` threshold for
the minimum duration, and "cleared" once it has stayed past the `off` threshold for the
clear duration. Values between the two thresholds change nothing, so a value hovering at
the threshold cannot make the condition flap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Transition = Literal["raised", "cleared", "reraised"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a value counts as on and as off; `above` says which side of `on` is bad."""

    on: float
    off: float
    above: bool = True
    min_duration: timedelta = timedelta(0)
    clear_duration: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if (self.above and self.off > self.on) or (not self.above and self.off < self.on):
            raise ValueError(f"the off threshold {self.off} must lie on the good side of "
                             f"the on threshold {self.on}")

    def is_on(self, value: float) -> bool:
        """Whether a value is bad enough to raise."""
        return value >= self.on if self.above else value <= self.on

    def is_off(self, value: float) -> bool:
        """Whether a value is good enough to clear."""
        return value <= self.off if self.above else value >= self.off


@dataclass(slots=True)
class ConditionState:
    """Where one subject's condition stands."""

    raised: bool = False
    pending_since: datetime | None = None
    clearing_since: datetime | None = None
    value: float | None = None
    at: datetime | None = None
    # Raised, but its situation was ended by an operator; held past `on` since holding_since.
    released: bool = False
    holding_since: datetime | None = None


def step(state: ConditionState, value: float, at: datetime, limits: Thresholds
         ) -> Transition | None:
    """Take a value observed at `at`; return the transition it completes, if any.

    A value older than the last one seen is ignored (feeds may repeat a report).
    """
    if state.at is not None and at < state.at:
        return None
    state.value, state.at = value, at
    if not state.raised:
        state.clearing_since = None
        if not limits.is_on(value):
            state.pending_since = None
            return None
        state.pending_since = state.pending_since or at
        if at - state.pending_since >= limits.min_duration:
            state.raised, state.pending_since = True, None
            return "raised"
        return None
    state.pending_since = None
    if not limits.is_off(value):
        state.clearing_since = None
        return _hold(state, value, at, limits) if state.released else None
    state.holding_since = None
    state.clearing_since = state.clearing_since or at
    if at - state.clearing_since >= limits.clear_duration:
        state.raised, state.clearing_since, state.released = False, None, False
        return "cleared"
    return None


def _hold(state: ConditionState, value: float, at: datetime, limits: Thresholds
          ) -> Transition | None:
    """A released condition: reraised once past `on` for the minimum duration again."""
    if not limits.is_on(value):
        state.holding_since = None
        return None
    state.holding_since = state.holding_since or at
    if at - state.holding_since >= limits.min_duration:
        state.released, state.holding_since = False, None
        return "reraised"
    return None


def release(state: ConditionState, at: datetime, limits: Thresholds) -> Transition | None:
    """The situation a raised condition fed was ended at `at` while the condition held:
    count the minimum duration again from then (a zero duration reraises at once)."""
    if not state.raised or state.released:
        return None
    state.released, state.holding_since = True, None
    if state.value is None or state.at is None or not limits.is_on(state.value):
        return None
    return _hold(state, state.value, max(at, state.at), limits)


def advance(state: ConditionState, at: datetime, limits: Thresholds) -> Transition | None:
    """Let time pass with no new value: the last value is taken to hold until `at`.

    `state.at` stays the last reading's time: a reading stamped between it and `at` (the
    source's reports lag the clock) is newer news, not a repeat, and must still count.
    """
    if state.value is None or state.at is None or (
            state.pending_since is None and state.clearing_since is None
            and state.holding_since is None):
        return None
    last = state.at
    change = step(state, state.value, at, limits)
    state.at = last
    return change
