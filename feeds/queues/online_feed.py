"""The online public-services feed: applications filed online per district and day, simulated.

The source reports running totals: each record is the count so far of one district's filings
at one level on one local day. The natural key is (district, day, level), and a later count
for the same key replaces the earlier one; the last report of a day is its total.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import date, datetime
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

import orjson

from feeds.base import Parsed
from feeds.queues.online import LEVELS, OnlineApplications, parse_applications

# Share of a day's online filings in each local hour (0..23), assumed: most in office hours,
# when officers answer and citizens file from work, a tail in the evening, few at night.
HOURLY_FILINGS = (0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.6, 2.0, 8.0, 11.0, 11.0, 9.0,
                  4.0, 6.0, 9.0, 10.0, 9.0, 6.0, 3.0, 3.0, 3.0, 2.0, 1.0, 0.5)
WEEKDAY_FACTOR = (1.0, 1.0, 1.0, 1.0, 0.95, 0.3, 0.15)  # Monday first; assumed
DAILY_FILINGS = (40.0, 320.0)  # a weekday's filings in one district, drawn per district
END_TO_END_SHARE = 0.55  # assumed share of filings at level 4 ("end-to-end")
_DAY_S = 86_400


class OnlineObservation(NamedTuple):
    """OnlineApplications as an observation: no position (NaN), its district set by the source.

    Geo-tagging leaves a NaN position untagged and calls with_district(None); the district
    here is the source's own and part of the natural key, so None must not erase it.
    """

    district: str
    day: date
    level: str
    applications: int
    lon: float = math.nan
    lat: float = math.nan

    @property
    def key(self) -> tuple[str, date, str]:
        """The natural key: (district, day, level)."""
        return self.district, self.day, self.level

    def with_district(self, code: str | None) -> OnlineObservation:
        """Return a copy tagged with a district code; None keeps the source's district."""
        return self if code is None else self._replace(district=code)

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-ready form that travels on the bus (no position: null lon, lat)."""
        record = OnlineApplications(self.district, self.day, self.level,
                                    self.applications).to_record()
        return {**record, "lon": None, "lat": None}


class OnlineServicesFeed:
    """Polls an online-services portal for running totals of applications per district."""

    mode: Literal["poll", "push"] = "poll"

    def __init__(
        self,
        source: Callable[[], Awaitable[bytes]],
        district_codes: Collection[str],
        interval_s: float = 60.0,
        name: str = "online_services",
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self._source = source
        self._districts = frozenset(district_codes)

    async def fetch(self) -> bytes:
        """Return the next payload from the source."""
        return await self._source()

    def parse(self, payload: bytes) -> Parsed[OnlineObservation]:
        """Parse a payload without I/O; districts outside the pack's layer are refused."""
        parsed = parse_applications(payload, self._districts)
        return Parsed([OnlineObservation(*a) for a in parsed.observations], parsed.rejected)


class OnlineSimulator:
    """Produces running totals of online filings per district, day and level, as a portal would.

    Each district-day-level's filing instants are drawn from their own random stream, so a
    count depends only on the seed and the time asked: counts never decrease within a day,
    whatever the polling cadence, and a restarted simulator reports the same counts.
    """

    def __init__(
        self,
        district_codes: Sequence[str],
        timezone: str = "Asia/Ho_Chi_Minh",
        seed: int = 2022,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self._tz = ZoneInfo(timezone)
        self._now = now
        self._seed = seed
        self._base = {code: random.Random(f"{seed}:{code}").uniform(*DAILY_FILINGS)
                      for code in district_codes}
        self._filings: dict[tuple[str, date, str], list[float]] = {}
        self._last_day: date | None = None

    def _instants(self, district: str, day: date, level: str) -> list[float]:
        """Sorted seconds after local midnight at which the day's filings arrive."""
        key = (district, day, level)
        if key not in self._filings:
            rng = random.Random(f"{self._seed}:{district}:{day.isoformat()}:{level}")
            share = END_TO_END_SHARE if level == "end_to_end" else 1.0 - END_TO_END_SHARE
            mean = self._base[district] * WEEKDAY_FACTOR[day.weekday()] * share
            total = max(0, round(rng.gauss(mean, math.sqrt(mean))))
            hours = rng.choices(range(24), HOURLY_FILINGS, k=total)
            self._filings[key] = sorted(h * 3600 + rng.random() * 3600 for h in hours)
        return self._filings[key]

    def records(self) -> list[dict[str, Any]]:
        """Today's running totals so far; after a day change, the previous day's totals too."""
        local = self._now().astimezone(self._tz)
        today = local.date()
        elapsed = local.hour * 3600 + local.minute * 60 + local.second
        days = [(today, elapsed)]
        if self._last_day is not None and self._last_day < today:
            # Filings after the last poll of a day would be lost without its final totals.
            days.insert(0, (self._last_day, _DAY_S))
        self._last_day = today
        # Only the days still reported are kept, so a long run does not grow without bound.
        self._filings = {k: v for k, v in self._filings.items() if k[1] >= days[0][0]}
        return [
            {"district": district, "day": day.isoformat(), "level": level,
             "applications": bisect.bisect_right(self._instants(district, day, level), seconds)}
            for day, seconds in days for district in self._base for level in LEVELS
        ]

    def snapshot_bytes(self) -> bytes:
        """Return the running totals as an applications document."""
        return orjson.dumps({"source": "online-services-simulator",
                             "applications": self.records()})

    async def __call__(self) -> bytes:
        """Return the next applications document as bytes (the feed's source interface)."""
        return self.snapshot_bytes()
