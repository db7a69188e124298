"""Live figures per area of any boundary layer, from each asset's latest state and position.

Positions are assigned to the asked layer on the fly (one vectorised lookup per query), so a
layer added to the pack aggregates like the default one without re-tagging stored rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from geo import AreaIndex


@dataclass(slots=True)
class AreaFigures:
    """One area's live figures across the feeds (formulas in `to_json`)."""

    parking_capacity: int = 0
    parking_occupied: int = 0
    car_parks: int = 0
    signals: int = 0
    signals_normal: int = 0
    signals_by_state: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    desks: int = 0
    waiting: int = 0
    counters_open: int = 0
    buses: int = 0

    def to_json(self) -> dict[str, Any]:
        """Figures and KPIs: parking occupancy = occupied / capacity over all places;
        signals normal share = units in state normal / units reporting."""
        return {
            "parking": {
                "car_parks": self.car_parks, "capacity": self.parking_capacity,
                "occupied": self.parking_occupied,
                "occupancy": None if not self.parking_capacity
                else round(self.parking_occupied / self.parking_capacity, 4),
            },
            "signals": {
                "units": self.signals, "normal": self.signals_normal,
                "normal_share": None if not self.signals
                else round(self.signals_normal / self.signals, 4),
                "by_state": dict(self.signals_by_state),
            },
            "queues": {"desks": self.desks, "waiting": self.waiting,
                       "counters_open": self.counters_open},
            "brt": {"buses": self.buses},
        }


async def _rows(
    conn: psycopg.AsyncConnection, sql: str, params: tuple[Any, ...]
) -> list[tuple[Any, ...]]:
    return list(await (await conn.execute(sql.encode(), params or None)).fetchall())


async def area_figures(
    conn: psycopg.AsyncConnection, index: AreaIndex, now: datetime
) -> dict[str, AreaFigures]:
    """Every unit of the index's layer with its live figures at `now` (units with none
    included)."""
    figures = {code: AreaFigures() for code in index.layer.codes}

    async def assign(sql: str, *params: Any) -> list[tuple[str, tuple[Any, ...]]]:
        rows = await _rows(conn, sql, params)
        codes = index.assign([r[0] for r in rows], [r[1] for r in rows])
        return [(code, row[2:]) for code, row in zip(codes, rows, strict=True)
                if code is not None]

    parks: dict[str, set[str]] = defaultdict(set)
    for code, (site, capacity, occupied) in await assign(
            "SELECT lon, lat, site_id, capacity, occupied FROM parking_latest"):
        figures[code].parking_capacity += capacity
        figures[code].parking_occupied += occupied
        parks[code].add(site)
    for code, sites in parks.items():
        figures[code].car_parks = len(sites)
    for code, (state,) in await assign(
            "SELECT lon, lat, state FROM signal_status_latest WHERE lon IS NOT NULL"):
        figures[code].signals += 1
        figures[code].signals_normal += state == "normal"
        figures[code].signals_by_state[state] += 1
    for code, (waiting, counters) in await assign(
            "SELECT lon, lat, waiting_total, counters_open FROM queue_latest"):
        figures[code].desks += 1
        figures[code].waiting += waiting
        figures[code].counters_open += counters
    for code, _ in await assign(
            "SELECT lon, lat FROM brt_vehicle_latest WHERE time > %s - interval '10 minutes'",
            now):
        figures[code].buses += 1
    return figures
