"""District KPIs over the last hour, and the composite "district health" score.

Formulas (each per area of the asked layer; None when the area has nothing to measure):
- signals_normal_share = signals in state normal / signals reporting (live);
- parking_occupancy = occupied places / places, all vehicle types (live);
- queue_wait_p90_min = 90th percentile of (called − issued) over tickets called in the hour;
- queue_service_level = tickets called within their desk's target wait / tickets called;
- brt_cv = mean over the area's stations of sd(h) / mean(h) of observed headways in the hour;
- brt_ewt_min = mean over those stations of AWT − SWT, AWT = Σh² / (2 Σh);
- online_share = online applications today / (online applications + tickets issued today),
  on the layer the online counts are reported for (the default one) only.
health = Σ wᵢ·sᵢ / Σ wᵢ over the KPIs available, with the pack's weights and these scores:
  signals min(1, share / target); parking 1 up to the target occupancy, falling linearly to 0
  when full; queues min(1, level / target); BRT 1 up to the target CV, falling to 0 at twice
  it; online min(1, share / target).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg

from feeds.transit.gtfs_records import GtfsFeed
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.headways import observed_headways, summarise
from feeds.transit.schedule import Timetable
from geo import AreaIndex, CityPack
from ioc.areas import AreaFigures, area_figures
from ioc.storage.history import brt_arrivals

DEFAULT_TARGETS = {"signals_normal_share": 0.95, "parking_occupancy": 0.85,
                   "queue_service_level": 0.8, "brt_cv": 0.3, "online_share": 0.5}
DEFAULT_WEIGHTS = {"signals": 0.3, "parking": 0.2, "queues": 0.2, "brt": 0.2, "online": 0.1}


def _assign_points(index: AreaIndex, positions: dict[str, tuple[float, float]]
                   ) -> dict[str, str]:
    ids = list(positions)
    codes = index.assign([positions[i][0] for i in ids], [positions[i][1] for i in ids])
    return {i: c for i, c in zip(ids, codes, strict=True) if c is not None}


async def queue_kpis(conn: psycopg.AsyncConnection, pack: CityPack, index: AreaIndex,
                     at: datetime) -> dict[str, dict[str, float | None]]:
    """p90 wait and service level per area over the hour before `at`."""
    desks = {f["properties"]["id"]: f for f in pack.asset_features("service_points")}
    area_of = _assign_points(index, {i: tuple(f["geometry"]["coordinates"][:2])
                                     for i, f in desks.items()})
    cur = await conn.execute(
        "SELECT point_id, extract(epoch FROM min(time) FILTER (WHERE event = 'called')"
        " - min(time) FILTER (WHERE event = 'issued')) / 60 FROM queue_ticket_events"
        " WHERE time >= %s - interval '3 hours' AND time < %s GROUP BY point_id, ticket_id"
        " HAVING min(time) FILTER (WHERE event = 'called') >= %s - interval '1 hour'"
        " AND min(time) FILTER (WHERE event = 'issued') IS NOT NULL",
        (at, at, at),
    )
    waits: dict[str, list[float]] = defaultdict(list)
    met: dict[str, int] = defaultdict(int)
    for point, wait in await cur.fetchall():
        area = area_of.get(point)
        if area is None or wait is None:
            continue
        waits[area].append(float(wait))
        target = float(desks[point]["properties"].get("target_wait_min") or 15)
        met[area] += float(wait) <= target
    return {area: {"queue_wait_p90_min": round(float(np.percentile(w, 90)), 2),
                   "queue_service_level": round(met[area] / len(w), 4)}
            for area, w in waits.items()}


async def brt_kpis(conn: psycopg.AsyncConnection, static: GtfsFeed, index: AreaIndex,
                   at: datetime) -> dict[str, dict[str, float | None]]:
    """Mean headway CV and excess wait at each area's stations over the hour before `at`."""
    stops = {s.stop_id: (s.lon, s.lat) for s in static.stops.values()
             if s.lon is not None and s.lat is not None}
    area_of = _assign_points(index, stops)
    timetable = Timetable(static, at.astimezone(static.timezone).date())
    arrivals = await brt_arrivals(conn, at - timedelta(hours=1), at)

    def scheduled(route: str | None, direction: int | None, stop: str,
                  when: datetime) -> float | None:
        return None if route is None else timetable.headway_at_instant(
            route, direction, stop, when)

    cvs: dict[str, list[float]] = defaultdict(list)
    ewts: dict[str, list[float]] = defaultdict(list)
    for s in summarise(observed_headways(arrivals), scheduled):
        area = area_of.get(s.stop_id)
        if area is None:
            continue
        if s.cv is not None:
            cvs[area].append(s.cv)
        if s.ewt_s is not None:
            ewts[area].append(s.ewt_s / 60)
    return {area: {"brt_cv": round(float(np.mean(cvs[area])), 4) if cvs[area] else None,
                   "brt_ewt_min": round(float(np.mean(ewts[area])), 2) if ewts[area] else None}
            for area in set(cvs) | set(ewts)}


async def online_kpis(conn: psycopg.AsyncConnection, pack: CityPack, index: AreaIndex,
                      at: datetime) -> dict[str, dict[str, float | None]]:
    """Share of today's applications filed online, per district (`index` is of the default
    layer, the one the counts are reported for)."""
    day = at.astimezone(ZoneInfo(pack.timezone)).date()
    cur = await conn.execute(
        "SELECT district, sum(applications) FROM online_applications WHERE day = %s"
        " GROUP BY district", (day,))
    online = {d: int(n) for d, n in await cur.fetchall()}
    desks = {f["properties"]["id"]: tuple(f["geometry"]["coordinates"][:2])
             for f in pack.asset_features("service_points")}
    area_of = _assign_points(index, desks)
    cur = await conn.execute(
        "SELECT point_id, count(*) FROM queue_ticket_events WHERE event = 'issued'"
        " AND (time AT TIME ZONE %s)::date = %s GROUP BY point_id", (pack.timezone, day))
    visits: dict[str, int] = defaultdict(int)
    for point, n in await cur.fetchall():
        if point in area_of:
            visits[area_of[point]] += int(n)
    return {d: {"online_share": round(n / (n + visits[d]), 4) if n + visits[d] else None}
            for d, n in online.items()}


def health(kpis: dict[str, Any], targets: dict[str, float], weights: dict[str, float]
           ) -> float | None:
    """The composite score in [0, 1] (see the module docstring), None with no KPI at all."""
    scores: dict[str, float] = {}
    share = kpis.get("signals_normal_share")
    if share is not None:
        scores["signals"] = min(1.0, share / targets["signals_normal_share"])
    occupancy = kpis.get("parking_occupancy")
    if occupancy is not None:
        limit = targets["parking_occupancy"]
        scores["parking"] = 1.0 if occupancy <= limit else max(
            0.0, 1 - (occupancy - limit) / (1 - limit))
    level = kpis.get("queue_service_level")
    if level is not None:
        scores["queues"] = min(1.0, level / targets["queue_service_level"])
    cv = kpis.get("brt_cv")
    if cv is not None:
        limit = targets["brt_cv"]
        scores["brt"] = 1.0 if cv <= limit else max(0.0, 1 - (cv - limit) / limit)
    online = kpis.get("online_share")
    if online is not None:
        scores["online"] = min(1.0, online / targets["online_share"])
    total = sum(weights.get(k, 0.0) for k in scores)
    if not scores or total == 0:
        return None
    return round(sum(weights.get(k, 0.0) * s for k, s in scores.items()) / total, 4)


async def area_kpis(conn: psycopg.AsyncConnection, pack: CityPack, layer: str,
                    index: AreaIndex, at: datetime,
                    figures: dict[str, AreaFigures] | None = None) -> dict[str, dict[str, Any]]:
    """Every area's KPIs at `at` and its health score, with the pack's targets and weights
    (`figures`: the live figures when the caller has them already)."""
    targets = {**DEFAULT_TARGETS, **pack.manifest.get("kpi", {}).get("targets", {})}
    weights = {**DEFAULT_WEIGHTS, **pack.manifest.get("kpi", {}).get("weights", {})}
    figures = figures if figures is not None else await area_figures(conn, index, at)
    parts = [await queue_kpis(conn, pack, index, at)]
    if pack.gtfs_path is not None:
        parts.append(await brt_kpis(conn, load_gtfs(pack.gtfs_path), index, at))
    if layer == pack.default_layer:
        parts.append(await online_kpis(conn, pack, index, at))
    out: dict[str, dict[str, Any]] = {}
    for code, f in figures.items():
        live = f.to_json()
        kpis: dict[str, Any] = {
            "signals_normal_share": live["signals"]["normal_share"],
            "parking_occupancy": live["parking"]["occupancy"],
            "queue_wait_p90_min": None, "queue_service_level": None,
            "brt_cv": None, "brt_ewt_min": None, "online_share": None,
        }
        for part in parts:
            kpis.update(part.get(code, {}))
        out[code] = {**kpis, "health": health(kpis, targets, weights)}
    return out
