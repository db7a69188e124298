"""Boundary layers with live figures, simplified for the zoom, and one area's summary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, HTTPException, Query

from geo import AreaIndex, BoundaryLayer, PackError
from ioc.api.deps import Admin, State, Viewer
from ioc.areas import area_figures
from ioc.audit import record
from ioc.kpis import area_kpis
from ioc.state import AppState

router = APIRouter(tags=["areas"])


def _layer(state: AppState, name: str) -> tuple[BoundaryLayer, AreaIndex]:
    try:
        return state.layers.get(name)
    except PackError as err:
        raise HTTPException(404, str(err)) from err


@router.get("/api/layers")
async def layers(state: State, _user: Viewer) -> list[dict[str, Any]]:
    """The pack's boundary layers: name, title, units, validity, whether approximate."""
    out = []
    for name in state.layers.names:
        layer, _ = _layer(state, name)
        out.append({"name": name, "title": layer.title, "units": len(layer.units),
                    "valid_from": layer.valid_from, "valid_to": layer.valid_to,
                    "approximate": layer.approximate, "default": name == state.pack.default_layer})
    return out


@router.get("/api/layers/{name}")
async def layer_geojson(
    state: State, _user: Viewer, name: str,
    zoom: Annotated[float, Query(ge=0, le=22, description="map zoom the shapes are for")] = 10,
) -> dict[str, Any]:
    """A layer as GeoJSON, simplified to half a pixel at `zoom`, each unit with live figures."""
    layer, index = _layer(state, name)
    # Half a pixel of a 256-px tile at this zoom, in degrees of longitude.
    tolerance = 360 / (256 * 2 ** zoom) / 2
    async with state.pool.connection() as conn:
        figures = await area_figures(conn, index, state.clock.now())
    features = []
    for unit in layer.units:
        shape = shapely.simplify(unit.geometry, tolerance, preserve_topology=True)
        features.append({
            "type": "Feature", "id": unit.code,
            "geometry": shapely.geometry.mapping(shape),
            "properties": {"code": unit.code, "name": unit.name, "name_en": unit.name_en,
                           "kind": unit.kind, **figures[unit.code].to_json()},
        })
    return {"type": "FeatureCollection", "layer": name, "zoom": zoom, "features": features}


@router.post("/api/layers/{name}/reload")
async def reload_layer(state: State, admin: Admin, name: str) -> dict[str, Any]:
    """Re-read a layer from the city pack on disk (after `ioc layer import`) and swap it in."""
    try:
        layer, _ = state.layers.reload(name)
    except PackError as err:
        raise HTTPException(404, str(err)) from err
    async with state.pool.connection() as conn:
        await record(conn, admin, "layer.reload", name, detail={"units": len(layer.units)})
    return {"layer": name, "units": len(layer.units)}


@router.get("/api/kpis/{name}")
async def kpis(
    state: State, _user: Viewer, name: str, at: datetime | None = None
) -> dict[str, Any]:
    """Every area's KPIs over the hour before `at` (default now) and its health score;
    the formulas are in ioc/kpis.py and in the README."""
    _, index = _layer(state, name)
    when = at or state.clock.now()
    async with state.pool.connection() as conn:
        areas = await area_kpis(conn, state.pack, name, index, when)
    return {"layer": name, "at": when.isoformat(), "areas": areas}


@router.get("/api/layers/{name}/{code}")
async def area_summary(state: State, _user: Viewer, name: str, code: str) -> dict[str, Any]:
    """One area's summary across the feeds: parking, signals, queues and buses."""
    layer, index = _layer(state, name)
    if code not in layer.codes:
        raise HTTPException(404, f"layer {name!r} has no unit {code!r}")
    unit = layer.unit(code)
    async with state.pool.connection() as conn:
        figures = await area_figures(conn, index, state.clock.now())
        indicators = await area_kpis(conn, state.pack, name, index, state.clock.now(), figures)
    return {"layer": name, "code": code, "name": unit.name, "name_en": unit.name_en,
            "kind": unit.kind, "area_km2": unit.area_km2, **figures[code].to_json(),
            "kpis": indicators[code]}
