"""Traffic demand at Hanoi's signals through the day: two weekday peaks, flatter weekends."""

from __future__ import annotations

import math
from datetime import datetime, time

PEAKS = ((time(7), time(9)), (time(17), time(19)))

# Share of peak flow at each local hour (0..23). Weekdays peak hard at 07-09 and 17-19
# (school and office runs); weekends start later, never reach the weekday peaks, and stay
# busy into the evening.
_WEEKDAY = (0.08, 0.05, 0.04, 0.04, 0.07, 0.20, 0.55, 0.95, 1.00, 0.75, 0.65, 0.65,
            0.55, 0.60, 0.65, 0.70, 0.85, 1.00, 0.97, 0.75, 0.60, 0.50, 0.35, 0.18)
_WEEKEND = (0.12, 0.08, 0.05, 0.04, 0.05, 0.12, 0.25, 0.45, 0.60, 0.70, 0.75, 0.70,
            0.60, 0.60, 0.65, 0.70, 0.75, 0.80, 0.80, 0.80, 0.75, 0.60, 0.45, 0.28)

# Peak flow per lane (vehicles per hour, motorbikes included) by NEMA phase: main-street
# through movements are 2 and 6, side-street 4 and 8, protected lefts 1, 3, 5, 7.
PEAK_LANE_FLOW = {2: 900.0, 6: 900.0, 4: 450.0, 8: 450.0, 1: 200.0, 5: 200.0, 3: 150.0, 7: 150.0}


def is_weekend(local: datetime) -> bool:
    """Saturday or Sunday (Hanoi's working week is Monday to Friday)."""
    return local.weekday() >= 5


def demand_factor(local: datetime) -> float:
    """Share of peak flow at a local time, interpolated between hours."""
    curve = _WEEKEND if is_weekend(local) else _WEEKDAY
    hour = local.hour + local.minute / 60 + local.second / 3600
    low = math.floor(hour) % 24
    frac = hour - math.floor(hour)
    return curve[low] * (1 - frac) + curve[(low + 1) % 24] * frac


def is_peak(local: datetime) -> bool:
    """Within one of the weekday peak windows (07:00-09:00, 17:00-19:00)."""
    return not is_weekend(local) and any(lo <= local.time() < hi for lo, hi in PEAKS)
