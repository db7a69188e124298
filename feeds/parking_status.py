"""DATEX II parking status with per-site hysteresis, so a car park at its threshold never flaps.

A site enters "almostFull" when occupancy rises to `almost_full.rising` and leaves it only when
occupancy falls below `almost_full.falling`; "full" likewise. Thresholds are per site (the
city pack's `thresholds` property on a car park); the defaults are common choices, not rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Band:
    """Occupancy shares at which a status is entered (rising) and left (falling)."""

    rising: float
    falling: float


@dataclass(frozen=True, slots=True)
class Thresholds:
    """One site's hysteresis bands."""

    almost_full: Band = Band(0.90, 0.85)
    full: Band = Band(1.0, 0.97)

    @classmethod
    def from_properties(cls, props: dict[str, Any]) -> Thresholds:
        """Thresholds from a car park's pack properties (defaults where absent)."""
        given = props.get("thresholds") or {}
        default = cls()
        return cls(
            almost_full=Band(**given["almost_full"]) if "almost_full" in given
            else default.almost_full,
            full=Band(**given["full"]) if "full" in given else default.full,
        )


def next_status(previous: str | None, is_open: bool, capacity: int, occupied: int,
                thresholds: Thresholds) -> str:
    """The status after a reading, given the status before it."""
    if not is_open:
        return "closed"
    if capacity <= 0:
        return "full"
    share = occupied / capacity
    if share >= thresholds.full.rising or (previous == "full" and share > thresholds.full.falling):
        return "full"
    if share >= thresholds.almost_full.rising or (
        previous in ("full", "almostFull") and share > thresholds.almost_full.falling
    ):
        return "almostFull"
    return "spacesAvailable"


class StatusMemory:
    """The last status per (site, vehicle type), kept by a feed across its payloads.

    After a restart the memory is empty and the first reading is judged on the rising
    thresholds alone, which can only under-report a status for one reading.
    """

    def __init__(self, sites: Iterable[dict[str, Any]] = ()) -> None:
        self._thresholds = {
            s["properties"]["id"]: Thresholds.from_properties(s["properties"]) for s in sites
        }
        self._last: dict[tuple[str, str], str] = {}
        self._default = Thresholds()

    def status(self, site_id: str, vehicle_type: str, is_open: bool, capacity: int,
               occupied: int) -> str:
        """Judge one reading and remember the result."""
        key = (site_id, vehicle_type)
        status = next_status(self._last.get(key), is_open, capacity, occupied,
                             self._thresholds.get(site_id, self._default))
        self._last[key] = status
        return status
