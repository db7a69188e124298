"""The system's one clock: every "now" (simulators, rules, health, measures) is read here.

Real time by default. A demo or a test starts the simulated city at another moment
(`start`) and may run it faster (`speed`, a time-lapse); a test may also hold it still and
move it by hand. Only elapsed time is read from the machine, through a monotonic counter,
so nothing depends on the time of day the process happens to run at.

What measures real requests rather than the city stays on the machine's time: token and
session expiry, rate-limit windows and ingest throughput (a time-lapse demo must not expire a
sign-in sixty times faster).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

MAX_SPEED = 60.0


class Clock:
    """A source of aware UTC datetimes: real, shifted to `start`, sped up, or frozen."""

    def __init__(
        self, start: datetime | None = None, speed: float = 1.0, *, frozen: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < speed <= MAX_SPEED:
            raise ValueError(f"clock speed must be in (0, {MAX_SPEED:g}], got {speed}")
        if start is not None and start.tzinfo is None:
            raise ValueError("clock start needs a time zone (e.g. 2026-12-03T01:00+07:00)")
        self._monotonic = monotonic
        self._anchor = (start or datetime.now(UTC)).astimezone(UTC)
        self._since = monotonic()
        self.speed = speed
        self.frozen = frozen
        self.simulated = start is not None or speed != 1.0 or frozen

    @classmethod
    def pinned(cls, at: datetime) -> Clock:
        """A clock held at `at` until a test moves it with `advance` or `set`."""
        return cls(at, frozen=True)

    def now(self) -> datetime:
        """The current time of the (possibly simulated) city, in UTC."""
        if self.frozen:
            return self._anchor
        if not self.simulated:
            return datetime.now(UTC)
        elapsed = (self._monotonic() - self._since) * self.speed
        return self._anchor + timedelta(seconds=elapsed)

    def timestamp(self) -> float:
        """`now()` as POSIX seconds."""
        return self.now().timestamp()

    def advance(self, seconds: float) -> None:
        """Move the clock forward (tests)."""
        self.set(self.now() + timedelta(seconds=seconds))

    def set(self, at: datetime) -> None:
        """Jump the clock to `at` (tests); it keeps running from there unless frozen."""
        if at.tzinfo is None:
            raise ValueError("a clock time needs a time zone")
        self._anchor = at.astimezone(UTC)
        self._since = self._monotonic()
        self.simulated = True

    def seconds(self, real_seconds: float) -> float:
        """How much city time passes in `real_seconds` of the machine's time."""
        return 0.0 if self.frozen else real_seconds * self.speed

