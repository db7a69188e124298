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


class ItemIndex:
    """Items with their positions and districts as arrays, built once per delta so that every
    filter decides on all of them in a few array operations instead of item by item."""

    __slots__ = ("_districts", "area", "districts", "items", "lats", "lons", "unplaced")

    def __init__(self, items: Sequence[Item]) -> None:
        n = len(items)
        self.items = items
        self.area = np.fromiter((item.area for item in items), dtype=bool, count=n)
        # District figures are placed by their district's bounds, never by a position.
        self.lons = np.fromiter((math.nan if item.area or item.lon is None else item.lon
                                 for item in items), dtype=float, count=n)
        self.lats = np.fromiter((math.nan if item.area or item.lat is None else item.lat
                                 for item in items), dtype=float, count=n)
        self.unplaced = np.flatnonzero(np.isnan(self.lons) | np.isnan(self.lats)).tolist()
        self.districts = [item.district for item in items]
        self._districts: dict[frozenset[str], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.items)

    def in_districts(self, codes: frozenset[str]) -> np.ndarray:
        """Which items belong to one of `codes` (cached: groups often share district sets)."""
        mask = self._districts.get(codes)
        if mask is None:
            mask = np.fromiter((d in codes for d in self.districts), dtype=bool,
                               count=len(self.districts))
            self._districts[codes] = mask
        return mask


def _both(mask: np.ndarray | None, other: np.ndarray) -> np.ndarray:
    return other if mask is None else mask & other


class Matcher:
    """A filter compiled against the city's places: decides which items it lets through."""

    def __init__(self, spec: Filter, places: Places, resolve_areas: AreaResolver) -> None:
        self.filter = spec
        self._places = places
        self._region: BaseGeometry | None = None
        if spec.layer is not None and spec.areas is not None:
            self._region = resolve_areas(spec.layer, spec.areas)
            shapely.prepare(self._region)
        self._everything = (spec.districts is None and spec.bbox is None
                            and spec.severities is None and spec.statuses is None
                            and self._region is None)

    def select(self, items: Sequence[Item] | ItemIndex, with_objects: bool = True) -> list[Item]:
        """The items this filter lets through (district figures only, without objects)."""
        index = items if isinstance(items, ItemIndex) else ItemIndex(items)
        chosen = index.items
        if self._everything and with_objects:
            return list(chosen)
        f = self.filter
        # Arrays of the index are shared by every group: combined into new ones, never changed.
        mask: np.ndarray | None = None if with_objects else index.area
        if f.districts is not None:
            mask = _both(mask, index.in_districts(f.districts))
        if f.bbox is not None:
            west, south, east, north = f.bbox
            lons, lats = index.lons, index.lats
            inside = (lons >= west) & (lons <= east) & (lats >= south) & (lats <= north)
            # District figures, and objects placed nowhere: their district's box must meet ours.
            for i in index.unplaced:
                inside[i] = self._district_meets(chosen[i].district, f.bbox)
            mask = _both(mask, inside)
        if f.severities is not None or f.statuses is not None:
            keep = np.fromiter((self._situation(item) for item in chosen),
                               dtype=bool, count=len(chosen))
            mask = _both(mask, keep)
        if mask is None:
            out = list(chosen)
        else:
            out = [chosen[i] for i in np.flatnonzero(mask).tolist()]
        if self._region is not None and out:
            out = self._in_region(out)
        return out

    def _district_meets(self, district: str | None, bbox: BBox) -> bool:
        west, south, east, north = bbox
        box = self._places.bounds.get(district or "")
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
