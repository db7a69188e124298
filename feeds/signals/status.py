"""A signal's operating status, as operators name it, from its recent controller events."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

from feeds.base import utc_text
from feeds.signals.codes import (
    COORDINATED_PHASE_BEGIN,
    CYCLE_LENGTH_CHANGE,
    CYCLE_STATE,
    CYCLE_STATE_FREE,
    CYCLE_STATE_TRANSITIONS,
    FLASH_NOT_FLASH,
    FLASH_STATUS,
    PATTERN_CHANGE,
    PATTERN_FREE,
    POWER_FAILURE,
    POWER_RESTORED,
    UNIT_FLASH_STATUS,
)
from feeds.signals.events import SignalEvent

State = Literal["normal", "flash", "dark", "comm_lost", "coordination_failed"]

DEFAULT_SILENCE = timedelta(minutes=5)
# Cycles a coordinated plan may go without cycle evidence (or stay in transition) before
# coordination counts as failed; a transition normally settles within 2-3 cycles.
COORDINATION_CYCLES = 3
# Cycle length assumed while a plan's 132 event has not been seen (a long Hanoi peak cycle).
ASSUMED_CYCLE_S = 180


class SignalStatus(NamedTuple):
    """What a signal is doing at `at`, why, and since when (source time of the evidence)."""

    signal_id: str
    at: datetime
    state: State
    reason: str | None
    since: datetime | None
    lon: float = math.nan
    lat: float = math.nan
    district: str | None = None

    def with_district(self, code: str | None) -> SignalStatus:
        """Return a copy tagged with its district code."""
        return self._replace(district=code)

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-ready form that travels on the bus."""
        return {
            "signal_id": self.signal_id,
            "at": utc_text(self.at),
            "state": self.state,
            "reason": self.reason,
            "since": None if self.since is None else utc_text(self.since),
            "lon": self.lon,
            "lat": self.lat,
            "district": self.district,
        }


def flash_reason(value: int) -> str:
    """The NTCIP 1202 name of a unit flash status value (173's parameter)."""
    return FLASH_STATUS.get(value, f"unknown({value})")


def unit_status(
    signal_id: str,
    events: Iterable[SignalEvent],
    now: datetime,
    *,
    silence: timedelta = DEFAULT_SILENCE,
    position: tuple[float, float] | None = None,
) -> SignalStatus:
    """Status of one signal at `now` from its events (others' and later ones are ignored).

    In order of precedence:
    - dark: the last power event is a failure (182) not yet followed by restored (184);
      a dark cabinet is silent, so this outranks communication lost;
    - comm_lost: no event within `silence` before `now`;
    - flash: the last unit flash status (173) is anything but notFlash(2), with its reason;
    - coordination_failed: see `coordination_fault`;
    - normal otherwise.
    """
    mine = sorted((e for e in events if e.signal_id == signal_id and e.time <= now),
                  key=lambda e: e.time)
    lon, lat = position or ((mine[-1].lon, mine[-1].lat) if mine else (math.nan, math.nan))

    def status(state: State, reason: str | None, since: datetime | None) -> SignalStatus:
        return SignalStatus(signal_id, now, state, reason, since, lon, lat)

    last = {e.event_code: e for e in mine}  # latest event of each code
    power = _latest(last, POWER_FAILURE, POWER_RESTORED)
    if power is not None and power.event_code == POWER_FAILURE:
        return status("dark", "power failure", power.time)
    if not mine or now - mine[-1].time > silence:
        since = mine[-1].time if mine else None
        return status("comm_lost", f"no events for more than {silence}", since)
    flash = last.get(UNIT_FLASH_STATUS)
    if flash is not None and flash.parameter != FLASH_NOT_FLASH:
        return status("flash", flash_reason(flash.parameter), flash.time)
    fault = coordination_fault(mine, now)
    if fault is not None:
        return status("coordination_failed", *fault)
    return status("normal", None, None)


def coordination_fault(
    events: list[SignalEvent], now: datetime
) -> tuple[str, datetime] | None:
    """Why coordination has failed under the active plan, and since when; None if it holds.

    Judged only when the last pattern change (131) names a coordinated plan (not 0, free 254
    or flash 255) and the plan has run for the window, N = 3 cycle lengths (132, else 180 s):
    - the controller reports its cycle state (150) as free;
    - no coordinated phase begin (152) nor cycle state (150) in the last window;
    - the cycle state has stayed in transition (2, 3, 4) longer than the window.
    `events` are one signal's, in time order.
    """
    last = {e.event_code: e for e in events}
    plan = last.get(PATTERN_CHANGE)
    if plan is None or not 0 < plan.parameter < PATTERN_FREE:
        return None
    cycle = last.get(CYCLE_LENGTH_CHANGE)
    window = timedelta(seconds=COORDINATION_CYCLES * (cycle.parameter if cycle and
                                                      cycle.parameter else ASSUMED_CYCLE_S))
    if now - plan.time < window:
        return None
    state = last.get(CYCLE_STATE)
    if state is not None and state.parameter == CYCLE_STATE_FREE:
        return f"running free under pattern {plan.parameter}", state.time
    evidence = _latest(last, CYCLE_STATE, COORDINATED_PHASE_BEGIN)
    if evidence is None or now - evidence.time > window:
        since = plan.time if evidence is None else max(evidence.time, plan.time)
        return f"no coordinated cycles under pattern {plan.parameter}", since
    if state is not None and state.parameter in CYCLE_STATE_TRANSITIONS:
        entered = _transition_start(events, state)
        if now - entered > window:
            return f"stuck in transition under pattern {plan.parameter}", entered
    return None


def _latest(last: dict[int, SignalEvent], *codes: int) -> SignalEvent | None:
    found = [last[code] for code in codes if code in last]
    return max(found, key=lambda e: e.time) if found else None


def _transition_start(events: list[SignalEvent], current: SignalEvent) -> datetime:
    """When the unbroken run of transition cycle states ending in `current` began."""
    start = current.time
    for event in reversed(events):
        if event.event_code != CYCLE_STATE or event.time > current.time:
            continue
        if event.parameter not in CYCLE_STATE_TRANSITIONS:
            break
        start = event.time
    return start
