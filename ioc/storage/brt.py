"""BRT rows: vehicle positions with live state, and stop events from trip updates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from ioc.storage.append import WriteResult, append_once, upsert_newest

_POSITIONS = ("time", "vehicle_id", "trip_id", "route_id", "direction_id", "stop_id",
              "stop_sequence", "status", "occupancy", "lon", "lat", "district")
_STOP_EVENTS = ("time", "trip_id", "start_date", "start_time", "stop_sequence", "stop_id",
                "route_id", "direction_id", "vehicle_id", "arrival_time", "departure_time",
                "delay_s", "district")


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def position_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """The row of one vehicle position record (raises when it is corrupt)."""
    return (
        str(record["observed_at"]), str(record["vehicle_id"]), _opt(record["trip_id"]),
        _opt(record["route_id"]), _int(record["direction_id"]), _opt(record["stop_id"]),
        _int(record["current_stop_sequence"]), _opt(record["current_status"]),
        _opt(record["occupancy_status"]), float(record["lon"]), float(record["lat"]),
        _opt(record["district"]),
    )


def stop_event_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """The row of one stop event record (raises when it is corrupt)."""
    sequence = record["stop_sequence"]
    return (
        str(record["observed_at"]), str(record["trip_id"] or ""), str(record["start_date"] or ""),
        str(record["start_time"] or ""), -1 if sequence is None else int(sequence),
        str(record["stop_id"]), _opt(record["route_id"]), _int(record["direction_id"]),
        _opt(record["vehicle_id"]), _opt(record["arrival_time"]),
        _opt(record["departure_time"]), _int(record["delay"]), _opt(record["district"]),
    )


async def write_positions(
    conn: psycopg.AsyncConnection, rows: Sequence[tuple[Any, ...]]
) -> WriteResult:
    """Append positions and move each vehicle's live state forward."""
    inserted = await append_once(conn, "brt_vehicle_positions", _POSITIONS, rows)
    await upsert_newest(conn, "brt_vehicle_latest", _POSITIONS, ("vehicle_id",), rows)
    return WriteResult(len(rows), inserted)


async def write_stop_events(
    conn: psycopg.AsyncConnection, rows: Sequence[tuple[Any, ...]]
) -> WriteResult:
    """Append stop events (arrivals predicted or made)."""
    return WriteResult(len(rows), await append_once(conn, "brt_stop_events", _STOP_EVENTS, rows))


async def brt_vehicles(
    conn: psycopg.AsyncConnection, *, now: datetime | None = None,
    vehicle_ids: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The latest position of the buses on the road at `now` (the city clock's), or of the
    buses named."""
    cur = await conn.execute(
        "SELECT vehicle_id, time, trip_id, route_id, direction_id, stop_id, status, occupancy,"
        " lon, lat, district FROM brt_vehicle_latest"
        # A bus silent for ten minutes is off the road: out of service, or its unit is down.
        " WHERE (%(ids)s::text[] IS NULL AND time > %(now)s::timestamptz - interval '10 minutes')"
        " OR vehicle_id = ANY(%(ids)s::text[]) ORDER BY vehicle_id",
        {"ids": None if vehicle_ids is None else list(vehicle_ids), "now": now},
    )
    names = ("id", "updated_at", "trip_id", "route_id", "direction_id", "stop_id", "status",
             "occupancy", "lon", "lat", "district")
    vehicles = [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]
    for vehicle in vehicles:
        vehicle["updated_at"] = vehicle["updated_at"].isoformat()
    return vehicles
