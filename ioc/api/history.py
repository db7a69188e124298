"""The history API: any KPI of any feed's roll-up, for a district, an asset or the city, over
any range, and two periods aligned for comparison.

Read-only aggregates, so the viewer role suffices: the same figures per district are public
through open data, and no roll-up holds anything about a person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query

from ioc.api.deps import State, Viewer
from ioc.history.rollups import ROLLUPS
from ioc.history.series import (
    SeriesError,
    SeriesRequest,
    compare,
    kpi_series,
    parse_offset,
    points_json,
    request,
)

router = APIRouter(tags=["history"])

Bucket = Annotated[Literal["1m", "15m", "1h"] | None,
                   Query(description="bucket width; by default 1m up to 6 h, 15m up to 7 days, "
                                     "else 1h")]
District = Annotated[str | None, Query(description="a district code (default layer)")]
Asset = Annotated[str | None, Query(description="an asset id: car park, signal, service "
                                                 "point, BRT route or station")]
Start = Annotated[datetime, Query(description="range start, with a time zone")]
End = Annotated[datetime, Query(description="range end (exclusive), with a time zone")]


def _checked(feed: str, kpi: str, start: datetime, end: datetime, bucket: str | None,
             district: str | None, asset: str | None) -> SeriesRequest:
    try:
        return request(feed, kpi, start, end, bucket, district, asset)
    except SeriesError as err:
        raise HTTPException(422, str(err)) from err


@router.get("/api/history")
async def catalogue(_: Viewer) -> dict[str, Any]:
    """Every roll-up and the KPIs it serves, with units."""
    return {"feeds": {
        r.name: {"description": r.description, "asset": r.asset_kind,
                 "kpis": {k.name: {"unit": k.unit, "description": k.description}
                          for k in r.kpis}}
        for r in ROLLUPS.values()
    }}


@router.get("/api/history/compare")
async def compare_periods(
    state: State, _: Viewer, feed: str, kpi: str, start: Start, end: End,
    offset: Annotated[str, Query(description="how much earlier the other period is: 7d, "
                                             "1w, 24h, 90m")] = "7d",
    bucket: Bucket = None, district: District = None, asset: Asset = None,
) -> dict[str, Any]:
    """The KPI over [start, end) and over the same range `offset` earlier, bucket by bucket."""
    asked = _checked(feed, kpi, start, end, bucket, district, asset)
    try:
        shift = parse_offset(offset)
        async with state.pool.connection() as conn:
            return await compare(conn, asked, shift)
    except SeriesError as err:
        raise HTTPException(422, str(err)) from err


@router.get("/api/history/{feed}/{kpi}")
async def series(
    state: State, _: Viewer, feed: str, kpi: str, start: Start, end: End,
    bucket: Bucket = None, district: District = None, asset: Asset = None,
) -> dict[str, Any]:
    """One KPI per bucket over [start, end); every bucket of the range is present, its value
    null when nothing was recorded in it."""
    asked = _checked(feed, kpi, start, end, bucket, district, asset)
    async with state.pool.connection() as conn:
        points = await kpi_series(conn, asked)
    return {**asked.to_json(), "points": points_json(points)}
