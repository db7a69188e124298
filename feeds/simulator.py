"""A parking simulator: plausible occupancy through a Hanoi day for the pack's car parks."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

# Share of places taken at each local hour (0..23). Motorbikes fill earlier and fuller than
# cars in Hanoi's core; both dip at lunch and empty overnight.
_PROFILE = {
    "car": (0.12, 0.10, 0.10, 0.10, 0.10, 0.12, 0.20, 0.40, 0.65, 0.80, 0.86, 0.84,
            0.74, 0.78, 0.85, 0.88, 0.86, 0.78, 0.70, 0.72, 0.66, 0.48, 0.28, 0.18),
    "motorbike": (0.08, 0.06, 0.05, 0.05, 0.06, 0.10, 0.25, 0.55, 0.80, 0.90, 0.93, 0.90,
                  0.80, 0.84, 0.90, 0.92, 0.88, 0.80, 0.74, 0.78, 0.70, 0.50, 0.25, 0.12),
}


def profile_share(vehicle_type: str, local_hour: float) -> float:
    """Expected occupied share at a fractional local hour, linearly interpolated."""
    curve = _PROFILE[vehicle_type]
    low = int(math.floor(local_hour)) % 24
    frac = local_hour - math.floor(local_hour)
    return curve[low] * (1 - frac) + curve[(low + 1) % 24] * frac


def weekend_factor(weekday: int, local_hour: float) -> float:
    """Weekends in the core: quieter mornings (offices shut), busier evenings (shopping)."""
    if weekday < 5:
        return 1.0
    return 0.75 if local_hour < 11 else 1.1 if local_hour >= 17 else 0.95


@dataclass(slots=True)
class _SimSite:
    site_id: str
    lon: float
    lat: float
    capacity: dict[str, int]
    demand: float
    noise: dict[str, float]
    opens: float
    closes: float
    filling: tuple[float, float] | None = None


def _hours(opening_hours: str) -> tuple[float, float]:
    """Opening window from an OSM-style "Mo-Su 06:00-22:00" (24/7 when unreadable)."""
    try:
        window = opening_hours.split()[-1]
        start, end = window.split("-")
        return _clock(start), _clock(end)
    except (ValueError, IndexError):
        return 0.0, 24.0


def _clock(text: str) -> float:
    hours, minutes = text.split(":")
    return int(hours) + int(minutes) / 60


def _filled(site: _SimSite, now: float, share: float) -> float:
    """The share of a site under a filling fault: rising to full over the first half."""
    if site.filling is None or not site.filling[0] <= now < site.filling[1]:
        return share
    start, end = site.filling
    progress = min(1.0, (now - start) / max(1.0, (end - start) / 2))
    return share + (1.0 - share) * progress


class ParkingSimulator:
    """Produces occupancy documents, as an iParking-style API would, for a set of car parks."""

    def __init__(
        self,
        sites: Sequence[dict[str, Any]],
        timezone: str = "Asia/Ho_Chi_Minh",
        seed: int = 2017,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self._rng = random.Random(seed)
        self._tz = ZoneInfo(timezone)
        self._now = now
        self._sites = [self._sim_site(feature) for feature in sites]

    def _sim_site(self, feature: dict[str, Any]) -> _SimSite:
        props = feature["properties"]
        lon, lat = feature["geometry"]["coordinates"][:2]
        opens, closes = _hours(str(props.get("opening_hours", "")))
        capacity = {k: int(v) for k, v in props["capacity"].items() if int(v) > 0}
        return _SimSite(
            site_id=props["id"],
            lon=float(lon),
            lat=float(lat),
            capacity=capacity,
            demand=self._rng.uniform(0.75, 1.12),
            noise=dict.fromkeys(capacity, 0.0),
            opens=opens,
            closes=closes,
        )

    def fill(self, site_id: str, minutes: float) -> None:
        """Make a car park fill up over half of `minutes` and stay full to the end (a fault)."""
        start = self._now().timestamp()
        for site in self._sites:
            if site.site_id == site_id:
                site.filling = (start, start + minutes * 60)
                return
        raise KeyError(f"no car park {site_id!r} in the simulation")

    def snapshot(self) -> dict[str, Any]:
        """Advance the simulation one step and return the occupancy document."""
        stamp = self._now()
        local = stamp.astimezone(self._tz)
        hour = local.hour + local.minute / 60 + local.second / 3600
        weekend = weekend_factor(local.weekday(), hour)
        observed_at = stamp.isoformat()
        sites = []
        for site in self._sites:
            is_open = site.opens <= hour < site.closes
            vehicles = {}
            for vehicle_type, capacity in site.capacity.items():
                # A bounded random walk keeps consecutive readings close, as real counts are.
                walk = site.noise[vehicle_type] + self._rng.gauss(0.0, 0.015)
                site.noise[vehicle_type] = max(-0.12, min(0.12, walk * 0.97))
                share = (profile_share(vehicle_type, hour) * site.demand * weekend
                         + site.noise[vehicle_type])
                share = _filled(site, stamp.timestamp(), share) if is_open else 0.0
                occupied = max(0, min(capacity, round(capacity * share)))
                vehicles[vehicle_type] = {"capacity": capacity, "occupied": occupied}
            sites.append(
                {
                    "id": site.site_id,
                    "lon": site.lon,
                    "lat": site.lat,
                    "open": is_open,
                    "observed_at": observed_at,
                    "vehicles": vehicles,
                }
            )
        return {"source": "iparking-simulator", "generated_at": observed_at, "sites": sites}

    def snapshot_bytes(self) -> bytes:
        """Advance one step and return the document serialised, as a source would send it."""
        return orjson.dumps(self.snapshot())

    async def __call__(self) -> bytes:
        """Return the next occupancy document as bytes (the feed's source interface)."""
        return self.snapshot_bytes()
