"""Parking routes: car parks with live state, and the feed's rejected records."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query

from ioc.api.deps import Operator, State, Viewer
from ioc.snapshots import parking_snapshot
from ioc.storage.deadletter import recent_dead_letters

router = APIRouter(tags=["parking"])


@router.get("/api/parking/sites")
async def sites(state: State, _user: Viewer) -> dict[str, Any]:
    """Every car park of the city pack as a GeoJSON point with its live occupancy."""
    live = {s["id"]: s for s in (await parking_snapshot(state.pool))["sites"]}
    features = []
    for feature in state.pack.asset_features("parking"):
        props = feature["properties"]
        figures = live.get(props["id"], {"status": "unknown"})
        features.append(
            {
                "type": "Feature",
                "id": props["id"],
                "geometry": feature["geometry"],
                "properties": {
                    "id": props["id"],
                    "name": props["name"],
                    "address": props.get("address"),
                    "opening_hours": props.get("opening_hours"),
                    **figures,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


@router.get("/api/feeds/{feed}/rejected")
async def rejected(
    state: State, _user: Operator, feed: str, limit: int = Query(100, ge=1, le=1000)
) -> list[dict[str, Any]]:
    """The newest records a feed rejected, with the reason, from the dead-letter store."""
    if feed not in state.settings.feeds:
        raise HTTPException(404, f"no feed named {feed!r}")
    async with state.pool.connection() as conn:
        return await recent_dead_letters(conn, feed, limit)
