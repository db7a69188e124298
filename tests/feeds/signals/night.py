"""The night that killed `ioc run`: full cycles at a signal with left turns, loops quiet.

The shape is the simulator's at 02:00 at Giảng Võ – Đê La Thành: left turns 1 and 5, then
through phases 2 and 6, then 4 and 8, each gapping out at its minimum green, in a 37 s cycle,
with not one actuation on the stop-bar loops of the left turns (channels 1 and 5).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from feeds.signals import codes
from feeds.signals.events import SignalEvent

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
NIGHT = datetime(2026, 11, 23, 2, 0, tzinfo=HANOI)
SIGNAL = "sig-giang-vo-de-la-thanh"
LEFT_TURNS = (1, 5)
CYCLE_S = 37
# (offset in the cycle, phases, green, yellow, red clearance) in seconds
STAGES = ((0, LEFT_TURNS, 5, 3, 2), (10, (2, 6), 10, 3, 2), (25, (4, 8), 7, 3, 2))


def night_cycles(
    signal_id: str = SIGNAL, start: datetime = NIGHT, cycles: int = 24,
    through_vehicles: bool = True,
) -> list[SignalEvent]:
    """`cycles` full cycles from `start`; a vehicle on phase 2 every other cycle if asked."""
    events = []

    def add(seconds: float, code: int, param: int) -> None:
        events.append(SignalEvent(signal_id, start + timedelta(seconds=seconds), code, param))

    for n in range(cycles):
        t0 = n * CYCLE_S
        for offset, phases, green, yellow, red in STAGES:
            begin = t0 + offset
            for phase in phases:
                add(begin, codes.PHASE_ON, phase)
                add(begin, codes.BEGIN_GREEN, phase)
                add(begin + green, codes.GAP_OUT, phase)
                add(begin + green, codes.BEGIN_YELLOW, phase)
                add(begin + green + yellow, codes.BEGIN_RED_CLEARANCE, phase)
                add(begin + green + yellow + red, codes.END_RED_CLEARANCE, phase)
        if through_vehicles and n % 2:
            add(t0 + 3.2, codes.DETECTOR_ON, 12)  # the advance loop of phase 2
            add(t0 + 3.6, codes.DETECTOR_OFF, 12)
            add(t0 + 14.0, codes.DETECTOR_ON, 2)  # its stop-bar loop, in green
            add(t0 + 15.5, codes.DETECTOR_OFF, 2)
    return sorted(events, key=lambda e: (e.time, e.event_code, e.parameter))
