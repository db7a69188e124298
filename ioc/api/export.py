"""`GET /api/export/{feed}`: stored rows as CSV, Parquet or GeoJSON, streamed, audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from feeds.transit.gtfs_static import load_gtfs
from geo import CityPack
from ioc.api.deps import Planner, State
from ioc.api.timemachine import coordinates
from ioc.audit import record
from ioc.history.export import (
    CHUNK_ROWS,
    DATASETS,
    MEDIA_TYPES,
    ExportError,
    ExportRequest,
    Format,
    Places,
    export_bytes,
    file_name,
    parse_bbox,
    read_chunks,
    validate,
)

router = APIRouter(tags=["export"])

_places: dict[Path, Places] = {}


def places(pack: CityPack) -> Places:
    """Where the pack places each asset an exported row may name, by kind and id."""
    if pack.root not in _places:
        known = coordinates(pack)
        stops = {} if pack.gtfs_path is None else {
            s.stop_id: (s.lon, s.lat) for s in load_gtfs(pack.gtfs_path).stops.values()
            if s.lon is not None and s.lat is not None}
        _places[pack.root] = {"parking": known.lookup("parking"),
                              "signals": known.lookup("signals"),
                              "service_points": known.lookup("service_points"),
                              "stops": stops}
    return _places[pack.root]


@router.get("/api/export/{feed}")
async def export(
    request: Request, state: State, planner: Planner, feed: str,
    format: Annotated[Format, Query(description="csv, parquet or geojson")] = "csv",  # noqa: A002
    start: Annotated[datetime | None, Query(description="from (default: a day before end)")]
    = None,
    end: Annotated[datetime | None, Query(description="until, excluded (default: now)")] = None,
    district: Annotated[str | None, Query(description="code of a district")] = None,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
) -> StreamingResponse:
    """A feed's stored rows with time in [start, end), in time order, streamed as they are
    read. Feeds: parking, parking_sessions, signals (controller events), signal_status,
    queues (ticket events), queue_counters, brt_vehicles, brt_trips, brt_taps (without the
    card hash), online_services (by day)."""
    until = end or state.clock.now()
    since = start or until - timedelta(days=1)
    if since.tzinfo is None or until.tzinfo is None:
        raise HTTPException(422, "start and end need a UTC offset")
    try:
        asked = ExportRequest(feed, since, until, district,
                              None if bbox is None else parse_bbox(bbox))
        dataset = asked.dataset
        validate(asked, places(state.pack))
    except ExportError as err:
        raise HTTPException(404 if feed not in DATASETS else 422, str(err)) from err
    async with state.pool.connection() as conn:
        await record(conn, planner, "history.export", feed,
                     ip=request.client.host if request.client else None,
                     detail={"format": format, "start": since.isoformat(),
                             "end": until.isoformat(), "district": district, "bbox": bbox})
    where = places(state.pack)
    zone = ZoneInfo(state.pack.timezone)

    async def body() -> AsyncIterator[bytes]:
        async with state.pool.connection() as conn:
            chunks = read_chunks(conn, asked, where, zone, CHUNK_ROWS[format])
            async for part in export_bytes(format, dataset, chunks, where):
                if part:
                    yield part

    return StreamingResponse(
        body(), media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition":
                 f'attachment; filename="{file_name(asked, format)}"'})
