"""Open data: aggregated, non-personal figures by district and hour, and their dictionary.

Only district codes, hours and KPI values leave through here: never an asset, a ticket, a
vehicle, a card hash or a session. Hourly figures come from the 1-hour roll-ups summed over
every asset of a district; "now" figures are the district KPIs of ioc/kpis.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from geo import BoundaryLayer
from ioc.history.rollups import ROLLUPS, Rollup

# The district KPIs served "now" (ioc/kpis.py's formulas), with units and meanings.
NOW_FIELDS: dict[str, tuple[str, str]] = {
    "signals_normal_share": ("share (0-1)", "signals operating normally / signals reporting"),
    "parking_occupancy": ("share (0-1)", "occupied places / places, all car parks, live"),
    "queue_wait_p90_min": ("minutes", "90th percentile wait from ticket issue to call, "
                                      "tickets called in the last hour"),
    "queue_service_level": ("share (0-1)", "tickets called within their desk's target wait / "
                                           "tickets called, last hour"),
    "brt_cv": ("ratio", "mean over the district's BRT stations of the coefficient of "
                        "variation of observed headways, last hour"),
    "brt_ewt_min": ("minutes", "mean excess wait time at the district's BRT stations, "
                               "last hour"),
    "online_share": ("share (0-1)", "applications filed online today / (online + counter "
                                    "tickets issued today)"),
    "health": ("score (0-1)", "weighted mean of the KPIs' scores against the city's targets"),
}
COMMON_FIELDS: dict[str, tuple[str, str]] = {
    "district": ("code", "district code of the city pack's default boundary layer"),
    "name": ("text", "district name (Vietnamese)"),
    "name_en": ("text", "district name (English)"),
    "hour": ("ISO 8601 time", "start of the hour (UTC offset given); figures cover one hour"),
}


def hourly_sql(rollup: Rollup) -> str:
    """Per district and hour, every KPI of `rollup` over [%(start)s, %(end)s)."""
    figures = ", ".join(f"{k.sql} AS {k.name}" for k in rollup.kpis)
    return (
        f"SELECT bucket, district, {figures} FROM {rollup.relation('1h')}"
        " WHERE bucket >= %(start)s AND bucket < %(end)s AND district <> ''"
        " AND (%(district)s::text IS NULL OR district = %(district)s::text)"
        " GROUP BY bucket, district ORDER BY bucket, district"
    )


def _value(value: Any) -> Any:
    if value is None or isinstance(value, int):
        return value
    return round(float(value), 6)


async def district_hourly(conn: psycopg.AsyncConnection, rollup: Rollup, start: datetime,
                          end: datetime, district: str | None = None) -> list[dict[str, Any]]:
    """One record per district and hour with data, in time order."""
    cur = await conn.execute(hourly_sql(rollup).encode(),
                             {"start": start, "end": end, "district": district})
    names = [k.name for k in rollup.kpis]
    return [{"hour": bucket.isoformat(), "district": code,
             **{name: _value(v) for name, v in zip(names, values, strict=True)}}
            for bucket, code, *values in await cur.fetchall()]


def districts_now(layer: BoundaryLayer, kpis: dict[str, dict[str, Any]]
                  ) -> list[dict[str, Any]]:
    """Each district's KPIs now, named, with only the documented fields."""
    out = []
    for unit in layer.units:
        figures = kpis.get(unit.code, {})
        out.append({"district": unit.code, "name": unit.name, "name_en": unit.name_en,
                    **{f: _value(figures.get(f)) for f in NOW_FIELDS}})
    return out


def dictionary() -> dict[str, Any]:
    """Every field of every open-data answer: its unit and meaning."""
    def fields(items: dict[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
        return {name: {"unit": unit, "description": text} for name, (unit, text) in items.items()}

    return {
        "common": fields(COMMON_FIELDS),
        "districts": fields(NOW_FIELDS),
        "hourly": {
            r.name: {"description": r.description,
                     "fields": {k.name: {"unit": k.unit, "description": k.description}
                                for k in r.kpis}}
            for r in ROLLUPS.values()
        },
    }
