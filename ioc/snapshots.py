"""Snapshots of live state, shared by the REST API and the WebSocket's first message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from geo import BoundaryLayer
from ioc.storage.brt import brt_vehicles
from ioc.storage.parking import DistrictParking, district_parking, parking_sites
from ioc.storage.queues import district_queues, queue_points
from ioc.storage.signals import district_signals, signal_units


def _empty(code: str) -> DistrictParking:
    return DistrictParking(code, 0, 0, 0, 0, None)


async def districts_snapshot(pool: AsyncConnectionPool, layer: BoundaryLayer) -> dict[str, Any]:
    """Every district of the layer with its live figures (empty figures where none)."""
    async with pool.connection() as conn:
        parking = await district_parking(conn)
    return {
        "districts": [
            {"code": code, "parking": parking.get(code, _empty(code)).to_json()}
            for code in layer.codes
        ]
    }


async def parking_snapshot(pool: AsyncConnectionPool) -> dict[str, Any]:
    """Every car park's live state."""
    async with pool.connection() as conn:
        return {"sites": await parking_sites(conn)}


async def queues_snapshot(pool: AsyncConnectionPool) -> dict[str, Any]:
    """Every desk's latest counters and waiting figures, and their district totals."""
    async with pool.connection() as conn:
        districts = await district_queues(conn)
        points = await queue_points(conn)
    return {"districts": [{"code": c, "queues": q} for c, q in sorted(districts.items())],
            "points": points}


async def brt_snapshot(pool: AsyncConnectionPool, now: datetime) -> dict[str, Any]:
    """The latest position of every bus on the road at `now`."""
    async with pool.connection() as conn:
        return {"vehicles": await brt_vehicles(conn, now=now)}


async def signals_snapshot(pool: AsyncConnectionPool) -> dict[str, Any]:
    """Every signal's live status, and the figures of each district."""
    async with pool.connection() as conn:
        districts = await district_signals(conn)
        units = await signal_units(conn)
    return {"districts": [{"code": c, "signals": d} for c, d in sorted(districts.items())],
            "units": units}
