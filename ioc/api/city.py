"""City routes: the dashboard's configuration and the districts with live figures."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, HTTPException

from geo import PackError
from ioc.api.deps import State
from ioc.snapshots import districts_snapshot

router = APIRouter(tags=["city"])


@router.get("/api/config")
async def config(state: State) -> dict[str, Any]:
    """What the dashboard needs to start: the city, its map view and an optional basemap."""
    pack = state.pack
    return {
        "city": {
            "name": pack.name,
            "title": pack.title,
            "centre": list(pack.centre),
            "zoom": pack.zoom,
            "timezone": pack.timezone,
            "layer": state.layer.name,
        },
        "basemap_style_url": state.settings.basemap_style_url,
    }


@router.get("/api/districts")
async def districts(state: State) -> dict[str, Any]:
    """The district layer as GeoJSON, each feature carrying its live figures."""
    snapshot = await districts_snapshot(state.pool, state.layer)
    figures = {d["code"]: d for d in snapshot["districts"]}
    collection: dict[str, Any] = copy.deepcopy(state.layer.to_feature_collection())
    for feature in collection["features"]:
        code = feature["properties"]["code"]
        feature["id"] = code
        feature["properties"]["parking"] = figures[code]["parking"]
    collection["layer"] = state.layer.name
    return collection


@router.get("/api/assets/{kind}")
async def assets(state: State, kind: str) -> dict[str, Any]:
    """The city pack's assets of one kind (signals, parking, service_points) as GeoJSON."""
    try:
        features = state.pack.asset_features(kind)
    except PackError as err:
        raise HTTPException(404, str(err)) from err
    return {"type": "FeatureCollection", "features": features}
