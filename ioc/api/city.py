"""City routes: the dashboard's configuration and the districts with live figures."""

from __future__ import annotations

import copy
import math
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query

from geo import PackError
from ioc.api.deps import State, Viewer
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
async def districts(state: State, _user: Viewer) -> dict[str, Any]:
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
async def assets(
    state: State,
    _user: Viewer,
    kind: str,
    layer: str | None = None,
    area: Annotated[str | None, Query(description="a unit code of `layer`")] = None,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
    near: Annotated[str | None, Query(description="lon,lat")] = None,
    radius_m: Annotated[float, Query(gt=0, le=50_000)] = 1000,
) -> dict[str, Any]:
    """The pack's assets of one kind (signals, parking, service_points) as GeoJSON, filtered
    by area of a layer, by bounding box, or by distance from a point (nearest first)."""
    try:
        features = state.pack.asset_features(kind)
    except PackError as err:
        raise HTTPException(404, str(err)) from err
    lons = np.array([f["geometry"]["coordinates"][0] for f in features], dtype=float)
    lats = np.array([f["geometry"]["coordinates"][1] for f in features], dtype=float)
    keep = np.ones(len(features), dtype=bool)
    if area is not None:
        try:
            _, index = state.layers.get(layer or state.pack.default_layer)
        except PackError as err:
            raise HTTPException(404, str(err)) from err
        keep &= np.array([code == area for code in index.assign(lons, lats)], dtype=np.bool_)
    if bbox is not None:
        west, south, east, north = _numbers(bbox, 4, "bbox")
        keep &= (lons >= west) & (lons <= east) & (lats >= south) & (lats <= north)
    distances = None
    if near is not None:
        lon, lat = _numbers(near, 2, "near")
        # Equirectangular distance: exact enough within a city, and vectorised.
        dx = (lons - lon) * 111_320 * math.cos(math.radians(lat))
        dy = (lats - lat) * 111_320
        distances = np.hypot(dx, dy)
        keep &= distances <= radius_m
    chosen = np.flatnonzero(keep)
    if distances is not None:
        chosen = chosen[np.argsort(distances[chosen])]
    out = []
    for i in chosen:
        feature = dict(features[i])
        if distances is not None:
            feature["properties"] = {**feature["properties"],
                                     "distance_m": round(float(distances[i]), 1)}
        out.append(feature)
    return {"type": "FeatureCollection", "features": out}


def _numbers(text: str, count: int, name: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as err:
        raise HTTPException(422, f"{name} must be {count} comma-separated numbers") from err
    if len(values) != count:
        raise HTTPException(422, f"{name} must be {count} comma-separated numbers")
    return values
