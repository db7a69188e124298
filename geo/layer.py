"""Boundary layers: administrative units with codes, names, validity dates and geometry."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

logger = logging.getLogger(__name__)

WGS84 = "EPSG:4326"


class LayerError(ValueError):
    """A boundary file that cannot be read or lacks what a layer needs."""


@dataclass(frozen=True, slots=True)
class AreaUnit:
    """One administrative unit (a district, ward or commune)."""

    code: str
    name: str
    name_en: str
    kind: str
    geometry: BaseGeometry
    admin_centre: tuple[float, float] | None = None
    area_km2: float | None = None


@dataclass(frozen=True, slots=True)
class BoundaryLayer:
    """A set of units that tile (part of) a city, valid over a period."""

    name: str
    title: dict[str, str]
    units: tuple[AreaUnit, ...]
    valid_from: date | None = None
    valid_to: date | None = None
    approximate: bool = False
    repaired: tuple[str, ...] = field(default=())

    @property
    def codes(self) -> list[str]:
        """Unit codes in layer order."""
        return [u.code for u in self.units]

    def unit(self, code: str) -> AreaUnit:
        """The unit with this code."""
        for candidate in self.units:
            if candidate.code == code:
                return candidate
        raise KeyError(f"layer {self.name!r} has no unit {code!r}")

    def to_feature_collection(self) -> dict[str, Any]:
        """The layer as a GeoJSON FeatureCollection (lon/lat)."""
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": u.code,
                    "geometry": shapely.geometry.mapping(u.geometry),
                    "properties": {
                        "code": u.code, "name": u.name, "name_en": u.name_en,
                        "kind": u.kind, "area_km2": u.area_km2,
                    },
                }
                for u in self.units
            ],
        }


def _text(row: Any, key: str | None, default: str = "") -> str:
    if key is None or key not in row or row[key] is None:
        return default
    value = row[key]
    return default if isinstance(value, float) and value != value else str(value)


def load_layer(
    path: Path,
    name: str,
    *,
    title: dict[str, str] | None = None,
    code_field: str = "code",
    name_field: str = "name",
    name_en_field: str | None = "name_en",
    kind_field: str | None = "kind",
    valid_from: date | None = None,
    valid_to: date | None = None,
    approximate: bool = False,
) -> BoundaryLayer:
    """Read a boundary file (GeoJSON, GeoPackage, Shapefile) into a WGS84 layer.

    Invalid polygons are repaired with `make_valid` and the repair is reported on the layer.
    """
    try:
        frame = gpd.read_file(path)
    except Exception as err:  # noqa: BLE001 - the readers raise many unrelated types
        raise LayerError(f"cannot read boundary file {path}: {err}") from err
    if frame.empty:
        raise LayerError(f"{path} has no features")
    for required in (code_field, name_field):
        if required not in frame.columns:
            raise LayerError(
                f"{path} has no field {required!r}; fields are {sorted(map(str, frame.columns))}"
            )
    if frame.crs is None:
        frame = frame.set_crs(WGS84)
    elif frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(WGS84)
    units, repaired = [], []
    for _, row in frame.iterrows():
        code = _text(row, code_field)
        geometry = row.geometry
        if not isinstance(geometry, BaseGeometry) or geometry.is_empty:
            raise LayerError(f"{path}: unit {code!r} has no geometry")
        if not geometry.is_valid:
            reason = shapely.is_valid_reason(geometry)
            geometry = shapely.make_valid(geometry)
            repaired.append(f"{code}: {reason}")
            logger.warning("layer %s: repaired unit %s (%s)", name, code, reason)
        geometry = _polygonal(geometry, f"{path}: unit {code!r}")
        area = row.get("area_km2") if "area_km2" in frame.columns else None
        units.append(
            AreaUnit(
                code=code,
                name=_text(row, name_field),
                name_en=_text(row, name_en_field, _text(row, name_field)),
                kind=_text(row, kind_field),
                geometry=geometry,
                admin_centre=_centre(row),
                area_km2=None if area is None or area != area else float(area),
            )
        )
    codes = [u.code for u in units]
    if len(set(codes)) != len(codes) or "" in codes:
        raise LayerError(f"{path}: unit codes must be present and unique")
    return BoundaryLayer(
        name=name, title=title or {"en": name}, units=tuple(units), valid_from=valid_from,
        valid_to=valid_to, approximate=approximate, repaired=tuple(repaired),
    )


def _polygonal(geometry: BaseGeometry, where: str) -> BaseGeometry:
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    # make_valid can return a collection that mixes (multi)polygons with the lines left by
    # collapsed spikes; only the polygons bound an area, and they may be nested one level.
    parts = shapely.get_parts(shapely.get_parts(geometry))
    polygons = [part for part in parts if part.geom_type == "Polygon"]
    if not polygons:
        raise LayerError(f"{where} is a {geometry.geom_type}, not an area")
    return polygons[0] if len(polygons) == 1 else shapely.multipolygons(polygons)


def _centre(row: Any) -> tuple[float, float] | None:
    lon, lat = row.get("centre_lon"), row.get("centre_lat")
    if lon is None or lat is None or lon != lon or lat != lat:
        return None
    return float(lon), float(lat)
