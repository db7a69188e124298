"""The pinned times tests run the city at: never the machine's own time of day or date.

Whatever hour CI runs at, a test sees the city at one of these moments. A time-sensitive test
runs at both (the `city_hour` fixture), since the city at 02:30 (BRT stopped, car parks and
one-stop shops shut, detectors quiet) is as ordinary as the city at 10:00.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from feeds.clock import Clock

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
# A Monday, outside any holiday (the day the recorded samples come from).
NIGHT = datetime(2026, 11, 23, 2, 30, tzinfo=HANOI)
DAY = datetime(2026, 11, 23, 10, 0, tzinfo=HANOI)
HOURS = {"night": NIGHT, "day": DAY}
# A clock held still at DAY, for what only stamps a time (a runner's last success).
TEST_CLOCK = Clock.pinned(DAY)


def clock_env(at: datetime) -> dict[str, str]:
    """Environment that starts a server's city clock at `at`."""
    return {"IOC_CLOCK__START": at.isoformat()}
