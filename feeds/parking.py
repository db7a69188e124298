"""Parking: the observation model (after FIWARE OffStreetParking) and the payload parser."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal, NamedTuple

import orjson

from feeds.base import Parsed, Rejected, representable, utc_text
from feeds.parking_status import StatusMemory

VEHICLE_TYPES = ("car", "motorbike")


class ParkingObservation(NamedTuple):
    """Occupancy of one vehicle type at one car park at one instant (source time).

    A named tuple rather than a frozen dataclass: ingest builds hundreds of thousands a
    second, and a tuple is built several times faster.
    """

    site_id: str
    vehicle_type: str
    observed_at: datetime
    capacity: int
    occupied: int
    status: str
    lon: float
    lat: float
    district: str | None = None

    @property
    def available(self) -> int:
        """Free places (never negative)."""
        return max(self.capacity - self.occupied, 0)

    def with_district(self, code: str | None) -> ParkingObservation:
        """Return a copy tagged with its district code."""
        return ParkingObservation(
            self.site_id, self.vehicle_type, self.observed_at, self.capacity, self.occupied,
            self.status, self.lon, self.lat, code,
        )

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-ready form that travels on the bus.

        Times are UTC with a fixed width, so that records compare as strings in time order.
        """
        return {
            "site_id": self.site_id,
            "vehicle_type": self.vehicle_type,
            "observed_at": utc_text(self.observed_at),
            "capacity": self.capacity,
            "occupied": self.occupied,
            "status": self.status,
            "lon": self.lon,
            "lat": self.lat,
            "district": self.district,
        }


class InvalidRecord(ValueError):
    """One site record broke the payload schema."""


def _number(record: dict[str, Any], key: str, low: float, high: float) -> float:
    value: Any = record.get(key)
    # `type(...) in` rather than isinstance: bool is an int subclass and must be refused.
    if type(value) not in (int, float) or not math.isfinite(value):
        raise InvalidRecord(f"{key} must be a finite number, got {value!r}")
    if not low <= value <= high:
        raise InvalidRecord(f"{key}={value} is outside [{low}, {high}]")
    return float(value)


def _count(record: dict[str, Any], key: str) -> int:
    value = record.get(key)
    if type(value) is not int or value < 0:
        raise InvalidRecord(f"{key} must be a non-negative integer, got {value!r}")
    return value


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidRecord(f"observed_at must be an ISO 8601 string, got {value!r}")
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError as err:
        raise InvalidRecord(f"observed_at {value!r} is not ISO 8601") from err
    if stamp.tzinfo is None:
        raise InvalidRecord(f"observed_at {value!r} has no time zone")
    if not representable(stamp):
        raise InvalidRecord(f"observed_at {value!r} is out of range")
    return stamp


def parse_site(site: Any, memory: StatusMemory) -> list[ParkingObservation]:
    """Validate one site record and return one observation per vehicle type."""
    if not isinstance(site, dict):
        raise InvalidRecord(f"a site record must be an object, got {type(site).__name__}")
    site_id = site.get("id")
    if not isinstance(site_id, str) or not site_id.strip():
        raise InvalidRecord("id must be a non-empty string")
    lon = _number(site, "lon", -180.0, 180.0)
    lat = _number(site, "lat", -90.0, 90.0)
    observed_at = _timestamp(site.get("observed_at"))
    is_open = site.get("open", True)
    if not isinstance(is_open, bool):
        raise InvalidRecord(f"open must be true or false, got {is_open!r}")
    vehicles = site.get("vehicles")
    if not isinstance(vehicles, dict) or not vehicles:
        raise InvalidRecord("vehicles must be a non-empty object")
    out = []
    for vehicle_type, counts in vehicles.items():
        if vehicle_type not in VEHICLE_TYPES:
            raise InvalidRecord(f"unknown vehicle type {vehicle_type!r}")
        if not isinstance(counts, dict):
            raise InvalidRecord(f"vehicles.{vehicle_type} must be an object")
        capacity = _count(counts, "capacity")
        occupied = _count(counts, "occupied")
        if occupied > capacity:
            raise InvalidRecord(
                f"{vehicle_type}: occupied {occupied} exceeds capacity {capacity}"
            )
        out.append(ParkingObservation(
            site_id, vehicle_type, observed_at, capacity, occupied,
            memory.status(site_id, vehicle_type, is_open, capacity, occupied), lon, lat,
        ))
    return out


def parse_payload(payload: bytes, memory: StatusMemory | None = None) -> Parsed[ParkingObservation]:
    """Parse an occupancy document; bad site records are rejected one by one.

    Statuses follow each site's hysteresis in `memory` (default thresholds without one).
    """
    memory = memory or StatusMemory()
    parsed: Parsed[ParkingObservation] = Parsed()
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        parsed.rejected.append(Rejected(f"payload is not JSON: {err}", _text(payload)))
        return parsed
    sites = document.get("sites") if isinstance(document, dict) else None
    if not isinstance(sites, list):
        parsed.rejected.append(Rejected("payload has no 'sites' list", _text(payload)))
        return parsed
    for site in sites:
        try:
            parsed.observations.extend(parse_site(site, memory))
        except InvalidRecord as err:
            parsed.rejected.append(Rejected(str(err), orjson.dumps(site).decode()))
    return parsed


def _text(payload: bytes) -> str:
    return payload.decode("utf-8", errors="replace")


class ParkingFeed:
    """The iParking occupancy feed: polls a source that returns an occupancy document."""

    mode: Literal["poll", "push"] = "poll"

    def __init__(
        self,
        source: Callable[[], Awaitable[bytes]],
        interval_s: float = 2.0,
        memory: StatusMemory | None = None,
    ) -> None:
        self.name = "parking"
        self.interval_s = interval_s
        self._source = source
        self._memory = memory or StatusMemory()

    async def fetch(self) -> bytes:
        """Return the next occupancy document from the source."""
        return await self._source()

    def parse(self, payload: bytes) -> Parsed[ParkingObservation]:
        """Parse an occupancy document without I/O."""
        return parse_payload(payload, self._memory)
