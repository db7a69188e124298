"""Subscription filters: which streams, districts, areas of a layer, box and zoom, situations.

A `Filter` is a plain hashable value, so that the hub matches each delta once per distinct
filter (a thousand wall screens on the same view cost one match) and shares the encoded frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ioc.live.lod import Level, level_for
from ioc.live.protocol import Code, ProtocolError
from ioc.live.streams import Item, Places

BBox = tuple[float, float, float, float]
MAX_CODES = 500


@dataclass(frozen=True, slots=True)
class Filter:
    """What one subscription follows (None: no restriction on that dimension)."""

    streams: frozenset[str]
    districts: frozenset[str] | None = None
    layer: str | None = None
    areas: frozenset[str] | None = None
    bbox: BBox | None = None
    zoom: float | None = None
    severities: frozenset[str] | None = None
    statuses: frozenset[str] | None = None

    @property
    def level(self) -> Level:
        """How much detail a box at this zoom receives (points without a box)."""
        if self.bbox is None or self.zoom is None:
            return Level.POINTS
        return level_for(self.zoom)

    def to_json(self) -> dict[str, Any]:
        """The filter as the client can read it back in `subscribed`."""
        out: dict[str, Any] = {"streams": sorted(self.streams), "level": self.level.value}
        for name in ("districts", "areas", "severities", "statuses"):
            value = getattr(self, name)
            if value is not None:
                out[name] = sorted(value)
        if self.layer is not None:
            out["layer"] = self.layer
        if self.bbox is not None:
            out["bbox"] = list(self.bbox)
        if self.zoom is not None:
            out["zoom"] = self.zoom
        return out


def parse_filter(message: Mapping[str, Any], known_streams: Sequence[str]) -> Filter:
    """Read a subscribe message's filter fields (ProtocolError with bad_filter if invalid)."""
    streams_in = message.get("streams", list(known_streams))
    if not isinstance(streams_in, list) or not streams_in:
        raise _bad("streams must be a non-empty list")
    unknown = [s for s in streams_in if s not in known_streams]
    if unknown:
        raise ProtocolError(Code.UNKNOWN_STREAM,
                            f"unknown streams {unknown}; known: {list(known_streams)}")
    bbox = _bbox(message.get("bbox"))
    zoom = message.get("zoom")
    if zoom is not None and (not _number(zoom) or not 0 <= zoom <= 24):
        raise _bad("zoom must be a number from 0 to 24")
    if zoom is not None and bbox is None:
        raise _bad("zoom needs a bbox")
    layer = message.get("layer")
    if layer is not None and not isinstance(layer, str):
        raise _bad("layer must be a layer name")
    areas = _codes(message, "areas")
    if (layer is None) != (areas is None):
        raise _bad("areas and layer go together: the codes of units of that layer")
    return Filter(
        streams=frozenset(streams_in), districts=_codes(message, "districts"),
        layer=layer, areas=areas, bbox=bbox,
        zoom=None if zoom is None else float(zoom),
        severities=_codes(message, "severities"), statuses=_codes(message, "statuses"),
    )


def _bad(reason: str) -> ProtocolError:
    return ProtocolError(Code.BAD_FILTER, reason)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _codes(message: Mapping[str, Any], name: str) -> frozenset[str] | None:
    value = message.get(name)
    if value is None:
        return None
    if (not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            or len(value) > MAX_CODES):
        raise _bad(f"{name} must be a list of at most {MAX_CODES} strings")
    return frozenset(value)


def _bbox(value: Any) -> BBox | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 4 or not all(_number(v) for v in value):
        raise _bad("bbox must be [west, south, east, north] in degrees")
    west, south, east, north = (float(v) for v in value)
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise _bad("bbox must have west < east and south < north, within lon/lat ranges")
    return west, south, east, north


AreaResolver = Callable[[str, frozenset[str]], BaseGeometry]


class Matcher:
    """A filter compiled against the city's places: decides item by item."""

    def __init__(self, spec: Filter, places: Places, resolve_areas: AreaResolver) -> None:
        self.filter = spec
        self._places = places
        self._region: BaseGeometry | None = None
        if spec.layer is not None and spec.areas is not None:
            self._region = resolve_areas(spec.layer, spec.areas)
            shapely.prepare(self._region)

    def select(self, items: Sequence[Item], with_objects: bool = True) -> list[Item]:
        """The items this filter lets through (district figures only, without objects)."""
        out = [item for item in items
               if (with_objects or item.area) and self._spatial(item) and self._situation(item)]
        if self._region is not None and out:
            out = self._in_region(out)
        return out

    def _spatial(self, item: Item) -> bool:
        f = self.filter
        if f.districts is not None and item.district not in f.districts:
            return False
        if f.bbox is None:
            return True
        west, south, east, north = f.bbox
        if not item.area and item.lon is not None and item.lat is not None:
            return west <= item.lon <= east and south <= item.lat <= north
        # District figures, and objects placed nowhere: their district's box must meet ours.
        box = self._places.bounds.get(item.district or "")
        return box is not None and box[0] <= east and box[2] >= west and box[1] <= north \
            and box[3] >= south

    def _situation(self, item: Item) -> bool:
        f = self.filter
        if item.area:
            return True
        if f.severities is not None and item.value.get("severity") not in f.severities:
            return False
        return f.statuses is None or item.value.get("status") in f.statuses

    def _in_region(self, items: list[Item]) -> list[Item]:
        assert self._region is not None
        region = self._region
        keep: list[Item] = []
        points = [(i, item) for i, item in enumerate(items)
                  if not item.area and item.lon is not None and item.lat is not None]
        inside: set[int] = set()
        if points:
            lons = np.array([item.lon for _, item in points], dtype=float)
            lats = np.array([item.lat for _, item in points], dtype=float)
            hits = shapely.contains_xy(region, lons, lats)
            inside = {i for (i, _), hit in zip(points, hits, strict=True) if hit}
        for i, item in enumerate(items):
            if i in inside:
                keep.append(item)
            elif item.area or item.lon is None or item.lat is None:
                box = self._places.bounds.get(item.district or "")
                if box is not None and region.intersects(shapely.box(*box)):
                    keep.append(item)
        return keep
