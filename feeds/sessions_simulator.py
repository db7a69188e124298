"""A parking-session simulator: vehicles in and out of the pack's car parks through a Hanoi day.

Each minute, each car park and vehicle type draws arrivals (Poisson) so that the number parked
follows the daily occupancy curve of `feeds.simulator`: the turnover that keeps the curve's
level (level / mean stay, by Little's law) plus a catch-up towards it when below. Each vehicle
gets a lognormal stay, cut short at closing. Starts and ends are reported at their own time.
The simulation runs in whole minutes from local midnight of the first call, with one random
stream per car park, so the same seed gives the same sessions whatever the polling cadence.

Fares (assumed, unverified against the city's current tariff): a motorbike pays a flat turn,
a car each started hour; the amount is paid, and reported, when the vehicle leaves.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from feeds.queues.points import Sessions, parse_opening_hours
from feeds.simulation import MinuteReplay, poisson
from feeds.simulator import profile_share

MOTORBIKE_TURN_VND = 5_000  # per session, whatever its length (unverified)
CAR_HOUR_VND = 25_000  # per started hour (unverified)
MEAN_STAY_MIN = {"car": 100.0, "motorbike": 150.0}  # assumed: errands and office days mixed
STAY_SIGMA = 0.8  # lognormal spread of stays
MIN_STAY_S = 300.0
CATCH_UP_MIN = 15.0  # a gap to the curve closes over about this long
LAST_ENTRY_MIN = 30  # car parks stop taking vehicles this long before closing
PAYMENTS = {"app": 0.35, "sms": 0.10, "card": 0.15, "cash": 0.40}  # assumed shares


def fare_vnd(vehicle_type: str, stay: timedelta) -> int:
    """The simulator's fare: a motorbike pays a flat turn, a car each started hour."""
    if vehicle_type == "motorbike":
        return MOTORBIKE_TURN_VND
    return max(1, math.ceil(stay.total_seconds() / 3600)) * CAR_HOUR_VND


@dataclass(slots=True)
class _Site:
    site_id: str
    sessions: Sessions
    capacity: dict[str, int]
    demand: float
    rng: random.Random
    parked: dict[str, list[float]]  # vehicle type -> heap of the parked vehicles' end instants
    day: date | None = None
    opened_today: int = 0


class SessionSimulator:
    """Produces sessions documents, as an iParking-style API would, for a set of car parks."""

    def __init__(
        self,
        sites: Sequence[dict[str, Any]],
        timezone: str = "Asia/Ho_Chi_Minh",
        seed: int = 2017,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self._tz = ZoneInfo(timezone)
        self._now = now
        self._sites = [self._site(feature, seed) for feature in sites]
        self._replay = MinuteReplay(self._tz, now, self._minute)

    @staticmethod
    def _site(feature: dict[str, Any], seed: int) -> _Site:
        props = feature["properties"]
        # A string seed is hashed stably, so each car park's stream is independent of order.
        rng = random.Random(f"{seed}:{props['id']}")
        capacity = {k: int(v) for k, v in props["capacity"].items() if int(v) > 0}
        return _Site(str(props["id"]), parse_opening_hours(str(props["opening_hours"])),
                     capacity, rng.uniform(0.75, 1.12), rng, {k: [] for k in capacity})

    def records(self) -> list[dict[str, Any]]:
        """Advance to now and return the reports whose time has come, in time order."""
        return self._replay.due()

    def snapshot_bytes(self) -> bytes:
        """Advance to now and return the new reports as a sessions document."""
        return orjson.dumps({"source": "iparking-simulator", "sessions": self.records()})

    async def __call__(self) -> bytes:
        """Return the next sessions document as bytes (the feed's source interface)."""
        return self.snapshot_bytes()

    def _minute(self, t0: float) -> None:
        local = datetime.fromtimestamp(t0, self._tz)
        minute = local.hour * 60 + local.minute
        for site in self._sites:
            if site.day != local.date():
                site.day, site.opened_today = local.date(), 0
            span = next((s for s in site.sessions.get(local.weekday(), ())
                         if s[0] <= minute < s[1]), None)
            # A span ending at 24:00 runs on into the next day (the pack's 24/7 car parks).
            if span is None or (span[1] < 24 * 60 and minute >= span[1] - LAST_ENTRY_MIN):
                continue
            close = t0 + (span[1] - minute) * 60.0 if span[1] < 24 * 60 else math.inf
            for vehicle_type, capacity in site.capacity.items():
                self._arrivals(site, vehicle_type, capacity, t0, minute / 60, close)

    def _arrivals(self, site: _Site, vehicle_type: str, capacity: int, t0: float,
                  hour: float, close: float) -> None:
        parked = site.parked[vehicle_type]
        while parked and parked[0] <= t0:
            heapq.heappop(parked)
        level = capacity * min(profile_share(vehicle_type, hour) * site.demand, 1.0)
        mean_stay_s = MEAN_STAY_MIN[vehicle_type] * 60.0
        rate = level * 60.0 / mean_stay_s + max(level - len(parked), 0.0) / CATCH_UP_MIN
        count = min(poisson(site.rng, rate), capacity - len(parked))
        for _ in range(count):
            start = math.floor(t0 + site.rng.random() * 60.0)
            stay = site.rng.lognormvariate(math.log(mean_stay_s) - STAY_SIGMA**2 / 2,
                                          STAY_SIGMA)
            end = math.floor(min(start + max(stay, MIN_STAY_S), close))
            payment = site.rng.choices(list(PAYMENTS), list(PAYMENTS.values()))[0]
            heapq.heappush(parked, end)
            site.opened_today += 1
            self._report(site, vehicle_type, start, end, payment)

    def _report(self, site: _Site, vehicle_type: str, start: float, end: float,
                payment: str) -> None:
        started = datetime.fromtimestamp(start, self._tz)
        ended = datetime.fromtimestamp(end, self._tz)
        record: dict[str, Any] = {
            "session_id": f"{site.day:%Y%m%d}-{site.opened_today:05d}",
            "site_id": site.site_id,
            "vehicle_type": vehicle_type,
            "started_at": started.isoformat(),
            "ended_at": None,
            "amount_vnd": None,
            "payment": None,
        }
        amount = fare_vnd(vehicle_type, ended - started)
        self._replay.add(start, record)
        self._replay.add(end, {**record, "ended_at": ended.isoformat(), "amount_vnd": amount,
                         "payment": payment})
