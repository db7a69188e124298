"""What the simulators share: a clock that replays the day minute by minute, a queue of
records waiting for their time, and Poisson draws."""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any


class MinuteReplay:
    """Runs a simulator's step once per simulated minute up to now, from local midnight of the
    first call, and hands out the records whose time has come, in time order."""

    def __init__(self, zone: tzinfo, now: Callable[[], datetime],
                 step: Callable[[float], None]) -> None:
        self._zone = zone
        self._now = now
        self._step = step
        self._clock: float | None = None
        self._pending: list[tuple[float, int, dict[str, Any]]] = []
        self._order = itertools.count()

    def add(self, at: float, record: dict[str, Any]) -> None:
        """Keep a record until its instant (a Unix time) has come."""
        heapq.heappush(self._pending, (at, next(self._order), record))

    def due(self) -> list[dict[str, Any]]:
        """Advance to now and return the records whose time has come."""
        now = self._now().timestamp()
        if self._clock is None:
            local = datetime.fromtimestamp(now, self._zone)
            self._clock = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        while self._clock < now:
            self._step(self._clock)
            self._clock += 60.0
        ready = []
        while self._pending and self._pending[0][0] <= now:
            ready.append(heapq.heappop(self._pending)[2])
        return ready


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (normal approximation above a mean of 30, where it is close)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k
