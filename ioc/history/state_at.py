"""The city as it was at a chosen moment: assets, situations and area KPIs at T.

The live wall reads each asset's newest row from the `*_latest` tables. To see the city at T,
this module builds temporary tables of the same names on one connection, filled with each
asset's newest stored row at or before T. PostgreSQL resolves unqualified names in the
session's temporary schema first, so while they exist the live functions (`area_figures`,
`area_kpis`, `parking_sites`, `district_signals`, the writer's delta queries...) answer for T
on that connection, unchanged: the time machine reuses them instead of copying their formulas.

Each feed's last known value is looked for within a staleness window before T, so that the
query scans a bounded time range (`DISTINCT ON` over the BRIN-indexed history); an asset with
no row in its window is absent at T, as a unit that stopped reporting would be on the wall.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import pq

from geo import AreaIndex, CityPack
from ioc.areas import AreaFigures, area_figures
from ioc.kpis import area_kpis
from ioc.storage.brt import brt_vehicles
from ioc.storage.parking import parking_sites
from ioc.storage.queues import queue_points
from ioc.storage.signals import signal_units

# How far before T a feed's last known value is looked for. Car parks report every few
# seconds and desks once a minute (closed ones too); unchanged signal statuses are restated
# every 5 minutes; a bus silent for 10 minutes is off the road, as on the live wall.
STALENESS: dict[str, timedelta] = {
    "parking": timedelta(hours=1),
    "signals": timedelta(hours=1),
    "queues": timedelta(hours=1),
    "brt": timedelta(minutes=10),
}


@dataclass(frozen=True, slots=True)
class Coordinates:
    """Where the pack places its fixed assets, by id: (ids, lons, lats) per asset kind."""

    parking: tuple[list[str], list[float], list[float]]
    signals: tuple[list[str], list[float], list[float]]
    service_points: tuple[list[str], list[float], list[float]]

    @classmethod
    def of(cls, pack: CityPack) -> Coordinates:
        """The coordinates of every car park, signal and service point of the pack."""

        def columns(kind: str) -> tuple[list[str], list[float], list[float]]:
            features = pack.asset_features(kind)
            return ([str(f["properties"]["id"]) for f in features],
                    [float(f["geometry"]["coordinates"][0]) for f in features],
                    [float(f["geometry"]["coordinates"][1]) for f in features])

        return cls(columns("parking"), columns("signals"), columns("service_points"))

    def lookup(self, kind: str) -> dict[str, tuple[float, float]]:
        """Asset id → (lon, lat) for one kind."""
        ids, lons, lats = getattr(self, kind)
        return {i: (x, y) for i, x, y in zip(ids, lons, lats, strict=True)}


# Temporary table → the query that fills it with the state at %(at)s. Fixed assets take the
# pack's coordinates (history rows carry none); buses carry their own.
_FILL: dict[str, str] = {
    "parking_latest": (
        "SELECT DISTINCT ON (o.site_id, o.vehicle_type) o.time, o.site_id, o.vehicle_type,"
        " o.district, o.capacity, o.occupied, o.status, a.lon, a.lat"
        " FROM parking_occupancy o JOIN unnest(%(parking_ids)s::text[],"
        " %(parking_lons)s::float8[], %(parking_lats)s::float8[]) a(id, lon, lat)"
        " ON a.id = o.site_id"
        " WHERE o.time > %(at)s - %(parking_window)s AND o.time <= %(at)s"
        " ORDER BY o.site_id, o.vehicle_type, o.time DESC"
    ),
    "signal_status_latest": (
        "SELECT DISTINCT ON (s.signal_id) s.time, s.signal_id, s.state, s.reason, s.since,"
        " s.district, a.lon, a.lat"
        " FROM signal_status s LEFT JOIN unnest(%(signals_ids)s::text[],"
        " %(signals_lons)s::float8[], %(signals_lats)s::float8[]) a(id, lon, lat)"
        " ON a.id = s.signal_id"
        " WHERE s.time > %(at)s - %(signals_window)s AND s.time <= %(at)s"
        " ORDER BY s.signal_id, s.time DESC"
    ),
    "queue_latest": (
        "SELECT DISTINCT ON (q.point_id) q.time, q.point_id, q.counters_open, q.waiting_total,"
        " q.waiting, q.district, a.lon, a.lat"
        " FROM queue_counter_snapshots q JOIN unnest(%(service_points_ids)s::text[],"
        " %(service_points_lons)s::float8[], %(service_points_lats)s::float8[]) a(id, lon, lat)"
        " ON a.id = q.point_id"
        " WHERE q.time > %(at)s - %(queues_window)s AND q.time <= %(at)s"
        " ORDER BY q.point_id, q.time DESC"
    ),
    "brt_vehicle_latest": (
        "SELECT DISTINCT ON (vehicle_id) time, vehicle_id, trip_id, route_id, direction_id,"
        " stop_id, stop_sequence, status, occupancy, lon, lat, district"
        " FROM brt_vehicle_positions"
        " WHERE time > %(at)s - %(brt_window)s AND time <= %(at)s"
        " ORDER BY vehicle_id, time DESC"
    ),
}
_COLUMNS: dict[str, str] = {
    "parking_latest": "time, site_id, vehicle_type, district, capacity, occupied, status, lon, lat",
    "signal_status_latest": "time, signal_id, state, reason, since, district, lon, lat",
    "queue_latest": "time, point_id, counters_open, waiting_total, waiting, district, lon, lat",
    "brt_vehicle_latest": "time, vehicle_id, trip_id, route_id, direction_id, stop_id,"
                          " stop_sequence, status, occupancy, lon, lat, district",
}
SHADOWED = tuple(_FILL)


async def create_shadow(conn: psycopg.AsyncConnection) -> None:
    """Create empty temporary twins of the live-state tables on this connection.

    The connection must not prepare statements while they exist (a plan prepared against
    the real table would keep reading it); callers set `prepare_threshold = None`.
    """
    for table in SHADOWED:
        await conn.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
        # LIKE is resolved before the temporary table exists, so it copies the real one.
        await conn.execute(f"CREATE TEMP TABLE {table} (LIKE {table} INCLUDING ALL)")


async def fill_shadow(
    conn: psycopg.AsyncConnection, coordinates: Coordinates, at: datetime
) -> None:
    """Replace the temporary tables' rows with each asset's last known state at `at`."""
    params: dict[str, Any] = {"at": at}
    for kind in ("parking", "signals", "service_points"):
        ids, lons, lats = getattr(coordinates, kind)
        params.update({f"{kind}_ids": ids, f"{kind}_lons": lons, f"{kind}_lats": lats})
    params.update({f"{feed}_window": window for feed, window in STALENESS.items()})
    for table, query in _FILL.items():
        await conn.execute(f"TRUNCATE pg_temp.{table}")
        await conn.execute(
            f"INSERT INTO pg_temp.{table} ({_COLUMNS[table]}) {query}", params)


async def drop_shadow(conn: psycopg.AsyncConnection) -> None:
    """Drop the temporary tables: the connection sees live state again."""
    if conn.info.transaction_status == pq.TransactionStatus.INERROR:
        return  # the rollback to come removes them with everything else
    for table in SHADOWED:
        await conn.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")


@asynccontextmanager
async def as_of(
    conn: psycopg.AsyncConnection, coordinates: Coordinates, at: datetime
) -> AsyncIterator[None]:
    """Within the block, the live-state tables on `conn` show the city at `at`."""
    threshold = conn.prepare_threshold
    conn.prepare_threshold = None
    try:
        await create_shadow(conn)
        await fill_shadow(conn, coordinates, at)
        yield
    finally:
        await drop_shadow(conn)
        conn.prepare_threshold = threshold


async def shadow_bus_ids(conn: psycopg.AsyncConnection) -> list[str]:
    """The buses of the temporary state: those seen in the 10 minutes before its T.

    The live bus queries count back from the wall clock; asked by id they answer for T.
    """
    cur = await conn.execute("SELECT vehicle_id FROM pg_temp.brt_vehicle_latest ORDER BY 1")
    return [row[0] for row in await cur.fetchall()]


_SITUATION_FIELDS = ("id", "type", "severity", "status", "title", "asset_kind", "asset_id",
                    "district", "lon", "lat", "opened_at", "resolved_at", "closed_at",
                    "escalated")


async def situations_at(conn: psycopg.AsyncConnection, at: datetime,
                        ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Situations open at `at` (opened by then, not yet resolved or closed), each with its
    status and severity as they stood then; with `ids`, those situations as they stood at
    `at` whatever their status (a replay's changes). Empty when the table is absent."""
    cur = await conn.execute("SELECT to_regclass('situations') IS NOT NULL")
    row = await cur.fetchone()
    if row is None or not row[0]:
        return []
    cur = await conn.execute(
        "SELECT s.id, s.type,"
        " CASE WHEN s.escalated_at > %(at)s THEN s.base_severity ELSE s.severity END,"
        " coalesce(e.to_status, 'open'), s.title, s.asset_kind, s.asset_id, s.district,"
        " s.lon, s.lat, s.opened_at, s.resolved_at, s.closed_at,"
        " coalesce(s.escalated_at <= %(at)s, false)"
        " FROM situations s LEFT JOIN LATERAL (SELECT to_status FROM situation_events"
        "   WHERE situation_id = s.id AND time <= %(at)s AND to_status IS NOT NULL"
        "   ORDER BY time DESC, id DESC LIMIT 1) e ON TRUE"
        " WHERE s.opened_at <= %(at)s AND CASE WHEN %(ids)s::bigint[] IS NULL"
        "   THEN (s.resolved_at IS NULL OR s.resolved_at > %(at)s)"
        "     AND (s.closed_at IS NULL OR s.closed_at > %(at)s)"
        "   ELSE s.id = ANY(%(ids)s::bigint[]) END"
        " ORDER BY s.opened_at, s.id",
        {"at": at, "ids": None if ids is None else list(ids)},
    )
    out = []
    for values in await cur.fetchall():
        item = dict(zip(_SITUATION_FIELDS, values, strict=True))
        for key in ("opened_at", "resolved_at", "closed_at"):
            # Later resolution or closure is not known at T.
            item[key] = None if item[key] is None or item[key] > at else item[key].isoformat()
        out.append(item)
    return out


async def state_at(
    conn: psycopg.AsyncConnection, pack: CityPack, layer: str, index: AreaIndex,
    coordinates: Coordinates, at: datetime,
) -> dict[str, Any]:
    """Every asset's last known value at or before `at`, the situations open at `at`, and
    every area of `layer` with its figures and KPIs at `at` (the live formulas)."""
    async with as_of(conn, coordinates, at):
        buses = await shadow_bus_ids(conn)
        assets = {
            "parking": await parking_sites(conn),
            "signals": await signal_units(conn),
            "queues": await queue_points(conn),
            "brt": await brt_vehicles(conn, vehicle_ids=buses) if buses else [],
        }
        figures = await area_figures(conn, index, at)
        _count_buses(figures, index, assets["brt"])
        kpis = await area_kpis(conn, pack, layer, index, at, figures)
    return {
        "at": at.isoformat(),
        "layer": layer,
        "staleness_s": {feed: w.total_seconds() for feed, w in STALENESS.items()},
        "assets": assets,
        "situations": await situations_at(conn, at),
        "areas": [{"code": code, **figures[code].to_json(), "kpis": kpis[code]}
                  for code in index.layer.codes],
    }


def _count_buses(figures: dict[str, AreaFigures], index: AreaIndex,
                 vehicles: Sequence[dict[str, Any]]) -> None:
    """Buses per area at T (`area_figures` counts those of the last 10 wall-clock minutes)."""
    for f in figures.values():
        f.buses = 0
    codes = index.assign([v["lon"] for v in vehicles], [v["lat"] for v in vehicles])
    for code in codes:
        if code is not None:
            figures[code].buses += 1
