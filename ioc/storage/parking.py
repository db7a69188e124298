"""Parking rows: batched COPY of history, live state upsert, and district roll-ups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from ioc.storage.append import WriteResult, append_once, upsert_newest

# A bus record as the writer stores it: (time as UTC ISO text, site, vehicle type, district,
# capacity, occupied, status, lon, lat). PostgreSQL parses the time, not Python.
ParkingRow = tuple[str, str, str, str | None, int, int, str, float, float]

_LATEST = (
    "time", "site_id", "vehicle_type", "district", "capacity", "occupied", "status", "lon", "lat"
)
_HISTORY = _LATEST[:7]


def parking_row(record: dict[str, Any]) -> ParkingRow:
    """The row of one bus record (KeyError, TypeError or ValueError when it is corrupt)."""
    return (
        str(record["observed_at"]), str(record["site_id"]), str(record["vehicle_type"]),
        None if record["district"] is None else str(record["district"]),
        int(record["capacity"]), int(record["occupied"]), str(record["status"]),
        float(record["lon"]), float(record["lat"]),
    )


async def write_parking(conn: psycopg.AsyncConnection, rows: Sequence[ParkingRow]) -> WriteResult:
    """Append history and move live state forward, inside the caller's transaction.

    The caller commits, then acknowledges the bus entries.
    """
    inserted = await append_once(conn, "parking_occupancy", _HISTORY, [r[:7] for r in rows])
    await upsert_newest(conn, "parking_latest", _LATEST, ("site_id", "vehicle_type"), rows)
    return WriteResult(len(rows), inserted)


@dataclass(frozen=True, slots=True)
class DistrictParking:
    """Parking figures of one district from live state."""

    code: str
    sites: int
    capacity: int
    occupied: int
    full_sites: int
    updated_at: datetime | None

    @property
    def available(self) -> int:
        """Free places across the district."""
        return max(self.capacity - self.occupied, 0)

    @property
    def occupancy(self) -> float | None:
        """Occupied share of all places, or None when the district has none."""
        return None if self.capacity == 0 else round(self.occupied / self.capacity, 4)

    def to_json(self) -> dict[str, Any]:
        """The wire form used by the API and the live stream."""
        return {
            "sites": self.sites,
            "capacity": self.capacity,
            "occupied": self.occupied,
            "available": self.available,
            "occupancy": self.occupancy,
            "full_sites": self.full_sites,
            "updated_at": None if self.updated_at is None else self.updated_at.isoformat(),
        }


async def district_parking(
    conn: psycopg.AsyncConnection, codes: Sequence[str] | None = None
) -> dict[str, DistrictParking]:
    """Roll live parking state up by district (all districts, or only `codes`)."""
    # A site counts as full when every vehicle type it serves is full.
    query = (
        "WITH sites AS ("
        "  SELECT district, site_id, sum(capacity) AS capacity, sum(occupied) AS occupied,"
        "         bool_and(status IN ('full', 'closed')) AND bool_or(status = 'full') AS is_full,"
        "         max(time) AS time"
        "  FROM parking_latest WHERE district IS NOT NULL"
        "  AND (%(codes)s::text[] IS NULL OR district = ANY(%(codes)s::text[]))"
        "  GROUP BY district, site_id)"
        " SELECT district, count(*), sum(capacity), sum(occupied),"
        "        count(*) FILTER (WHERE is_full), max(time)"
        " FROM sites GROUP BY district"
    )
    cur = await conn.execute(query, {"codes": None if codes is None else list(codes)})
    return {
        row[0]: DistrictParking(row[0], row[1], int(row[2]), int(row[3]), row[4], row[5])
        for row in await cur.fetchall()
    }


async def parking_sites(
    conn: psycopg.AsyncConnection, site_ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Live state per car park, vehicle types summed, with a per-type breakdown."""
    cur = await conn.execute(
        "SELECT site_id, vehicle_type, time, district, capacity, occupied, status"
        " FROM parking_latest"
        " WHERE %(ids)s::text[] IS NULL OR site_id = ANY(%(ids)s::text[])"
        " ORDER BY site_id, vehicle_type",
        {"ids": None if site_ids is None else list(site_ids)},
    )
    sites: dict[str, dict[str, Any]] = {}
    for site_id, vehicle_type, time, district, capacity, occupied, status in await cur.fetchall():
        site = sites.setdefault(
            site_id,
            {"id": site_id, "district": district, "capacity": 0, "occupied": 0,
             "statuses": [], "updated_at": time, "by_vehicle": {}},
        )
        site["capacity"] += capacity
        site["occupied"] += occupied
        site["statuses"].append(status)
        site["updated_at"] = max(site["updated_at"], time)
        site["by_vehicle"][vehicle_type] = {
            "capacity": capacity, "occupied": occupied, "status": status,
        }
    return [_finish_site(site) for site in sites.values()]


def _finish_site(site: dict[str, Any]) -> dict[str, Any]:
    statuses: list[str] = site.pop("statuses")
    capacity, occupied = site["capacity"], site["occupied"]
    site["available"] = max(capacity - occupied, 0)
    site["occupancy"] = None if capacity == 0 else round(occupied / capacity, 4)
    site["status"] = site_status(statuses)
    site["updated_at"] = site["updated_at"].isoformat()
    return site


def site_status(statuses: Sequence[str]) -> str:
    """One status for a site: it is full only when every vehicle type it serves is full."""
    if all(s == "closed" for s in statuses):
        return "closed"
    for status in ("spacesAvailable", "almostFull"):
        if status in statuses:
            return status
    return "full"
