"""Level of detail: what a bounding-box subscription receives at its zoom.

Below zoom 12 a box receives one aggregate per district; from 12 to 14 clusters on a grid
whose cells are a quarter of a map tile; from 14 the points themselves. Aggregates are
computed once per stream, level and zoom for every subscriber, from the process's live state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ioc.live.streams import Item, Places, Summary

DISTRICTS_BELOW = 12.0
POINTS_FROM = 14.0


class Level(StrEnum):
    """The detail a subscription gets."""

    DISTRICTS = "districts"
    GRID = "grid"
    POINTS = "points"


def level_for(zoom: float) -> Level:
    """The level of detail at a map zoom."""
    if zoom < DISTRICTS_BELOW:
        return Level.DISTRICTS
    if zoom < POINTS_FROM:
        return Level.GRID
    return Level.POINTS


def cell_degrees(zoom: float) -> float:
    """Side of a grid cell at `zoom`: a quarter of a 256-pixel tile (64 pixels)."""
    return 360.0 / float(2 ** math.floor(zoom)) / 4


@dataclass(slots=True)
class _Cell:
    count: int = 0
    lon_sum: float = 0.0
    lat_sum: float = 0.0
    placed: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    by: dict[str, int] = field(default_factory=dict)


def aggregate(
    items: Iterable[Item], summary: Summary, level: Level, zoom: float, places: Places
) -> list[dict[str, Any]]:
    """Cells of `items` (objects only) at `level`: count, centre, sums and category counts.

    A district cell is centred on the district's administrative centre; a grid cell on the
    mean position of its objects. Objects with no position are left out of the grid.
    """
    cells: dict[str, _Cell] = {}
    size = cell_degrees(zoom)
    for item in items:
        if item.area:
            continue
        if level is Level.DISTRICTS:
            if item.district is None:
                continue
            key = item.district
        else:
            if item.lon is None or item.lat is None:
                continue
            key = f"{math.floor(item.lon / size)}:{math.floor(item.lat / size)}"
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = _Cell()
        _add(cell, item, summary)
    return [_finish(key, cell, level, places) for key, cell in sorted(cells.items())]


def _add(cell: _Cell, item: Item, summary: Summary) -> None:
    cell.count += 1
    if item.lon is not None and item.lat is not None:
        cell.placed += 1
        cell.lon_sum += item.lon
        cell.lat_sum += item.lat
    for name in summary.sums:
        value = item.value.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            cell.sums[name] = cell.sums.get(name, 0) + value
    if summary.by is not None:
        category = str(item.value.get(summary.by))
        cell.by[category] = cell.by.get(category, 0) + 1


def _finish(key: str, cell: _Cell, level: Level, places: Places) -> dict[str, Any]:
    if level is Level.DISTRICTS and key in places.centres:
        lon, lat = places.centres[key]
    elif cell.placed:
        lon, lat = cell.lon_sum / cell.placed, cell.lat_sum / cell.placed
    else:
        lon = lat = math.nan
    out: dict[str, Any] = {"key": key, "count": cell.count}
    if not math.isnan(lon):
        out["lon"], out["lat"] = round(lon, 6), round(lat, 6)
    if cell.sums:
        out["sums"] = cell.sums
    if cell.by:
        out["by"] = cell.by
    return out


def cells_in_view(
    cells: list[dict[str, Any]], level: Level, bbox: tuple[float, float, float, float],
    places: Places,
) -> list[dict[str, Any]]:
    """The cells a subscription's box shows (a district's when their boxes meet)."""
    west, south, east, north = bbox
    out = []
    for cell in cells:
        if level is Level.DISTRICTS:
            box = places.bounds.get(cell["key"])
            if box is None or box[0] > east or box[2] < west or box[1] > north \
                    or box[3] < south:
                continue
        elif not ("lon" in cell and west <= cell["lon"] <= east
                  and south <= cell["lat"] <= north):
            continue
        out.append(cell)
    return out
