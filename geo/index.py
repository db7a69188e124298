"""Point-in-area assignment: a cell grid answers most points, exact geometry the rest."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import shapely
from shapely.strtree import STRtree

from geo.layer import BoundaryLayer

Coordinates = Sequence[float] | npt.NDArray[np.float64]

# Metres per degree of latitude; a degree of longitude is this times cos(latitude).
_M_PER_DEG = 111_320.0
# Cells per side: about 300 m over Hanoi. 512 answers a few more points directly but takes
# four times as long to build (1.4 s for the wards).
_GRID_CELLS = 256
# The grid takes about 0.3 s to build, what the exact path spends on some 50,000 points, so
# an index that only ever sees a few points never builds it.
_GRID_AFTER = 50_000
_MIXED = -2
# Cells are classified slightly enlarged, so a point that rounding puts in the neighbouring
# cell is still covered by what was decided for that cell.
_EPS = 1e-9


class AreaIndex:
    """Assigns points to the units of one layer.

    Rules: a point inside one unit gets it; a point on a shared border (inside or touching
    several) gets the lowest code among them, so the answer never depends on order; a point
    outside every unit gets the nearest unit within `tolerance_m` (the lowest code among
    equally near ones), else None, and is counted in `outside_count`.
    """

    def __init__(self, layer: BoundaryLayer, tolerance_m: float = 300.0) -> None:
        self.layer = layer
        self.tolerance_m = tolerance_m
        self.outside_count = 0
        # Sorting by code makes "lowest code wins" a matter of taking the lowest index.
        order = sorted(range(len(layer.units)), key=lambda i: layer.units[i].code)
        # The extra None is what index -1 (no unit) turns into.
        self._codes = np.array([layer.units[i].code for i in order] + [None], dtype=object)
        self._geoms = np.array([layer.units[i].geometry for i in order], dtype=object)
        shapely.prepare(self._geoms)
        self._tree = STRtree(self._geoms)
        centre_lat = float(np.mean(shapely.get_y(shapely.centroid(self._geoms))))
        # Local metres: x scaled by the length of a degree of longitude, y by one of latitude.
        self._scale = np.array([_M_PER_DEG * math.cos(math.radians(centre_lat)), _M_PER_DEG])
        self._segments, self._segment_unit = _boundary_segments(self._geoms, self._scale)
        self._grid: _CellGrid | None = None
        self._assigned = 0

    def assign(self, lons: Coordinates, lats: Coordinates) -> list[str | None]:
        """Unit code of each point (None beyond the tolerance, or with no position at all)."""
        x = np.asarray(lons, dtype=float)
        y = np.asarray(lats, dtype=float)
        result = np.full(len(x), -1, dtype=np.int64)
        # A record without a position (NaN) has no area; it is not "outside" either.
        located = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        if located.size:
            result[located] = self._assign_located(x[located], y[located])
        codes: list[str | None] = self._codes[result].tolist()
        return codes

    def assign_one(self, lon: float, lat: float) -> str | None:
        """Unit code of one point."""
        return self.assign([lon], [lat])[0]

    def _assign_located(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self._assigned += len(x)
        if self._grid is None and self._assigned >= _GRID_AFTER:
            self._grid = _CellGrid(self._geoms, self.tolerance_m / self._scale[0])
        if self._grid is None:
            result = self._exact(x, y, *self._tree.query(shapely.points(x, y)))
        else:
            result = self._grid.lookup(x, y)
            mixed = np.flatnonzero(result == _MIXED)
            x, y = x[mixed], y[mixed]
            result[mixed] = self._exact(x, y, *self._grid.candidates(x, y))
        self.outside_count += int(np.count_nonzero(result < 0))
        return result

    def _exact(
        self, x: np.ndarray, y: np.ndarray, point_i: np.ndarray, unit_i: np.ndarray
    ) -> np.ndarray:
        """Per point the lowest unit among its candidates that holds it, else the nearest."""
        none = len(self._geoms)
        result = np.full(len(x), none, dtype=np.int64)
        hit = shapely.intersects_xy(self._geoms[unit_i], x[point_i], y[point_i])
        # Several hits for one point (a border): keep the smallest index, the lowest code.
        np.minimum.at(result, point_i[hit], unit_i[hit])
        missing = np.flatnonzero(result == none)
        if missing.size:
            result[missing] = self._nearest(x[missing], y[missing])
        return result

    def _nearest(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        # In local metres the nearest boundary segment gives the nearest unit, and the tree's
        # distance is the one the tolerance is stated in.
        points = shapely.points(np.column_stack([x, y]) * self._scale)
        point_i, segment_i = self._segments.query_nearest(
            points, max_distance=self.tolerance_m, all_matches=True
        )
        none = len(self._geoms)
        found = np.full(len(x), none, dtype=np.int64)
        np.minimum.at(found, point_i, self._segment_unit[segment_i])
        found[found == none] = -1
        return found


def _boundary_segments(geoms: np.ndarray, scale: np.ndarray) -> tuple[STRtree, np.ndarray]:
    """Every boundary segment of the units, in local metres, and the unit each one bounds."""
    rings, ring_unit = shapely.get_rings(geoms, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    coords = coords * scale
    starts = np.flatnonzero(coord_ring[1:] == coord_ring[:-1])
    lines = shapely.linestrings(np.stack([coords[starts], coords[starts + 1]], axis=1))
    return STRtree(lines), ring_unit[coord_ring[starts]]


class _CellGrid:
    """A grid over the layer: per cell the one unit holding all of it, none, or mixed."""

    def __init__(self, geoms: np.ndarray, tolerance_deg: float) -> None:
        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        self._x0, self._y0 = minx - tolerance_deg, miny - tolerance_deg
        self._width = (maxx + tolerance_deg - self._x0) / _GRID_CELLS
        self._height = (maxy + tolerance_deg - self._y0) / _GRID_CELLS
        ix, iy = (a.ravel() for a in np.meshgrid(np.arange(_GRID_CELLS), np.arange(_GRID_CELLS)))
        x0, y0 = self._x0 + ix * self._width, self._y0 + iy * self._height
        cells = STRtree(shapely.box(x0 - _EPS, y0 - _EPS,
                                    x0 + self._width + _EPS, y0 + self._height + _EPS))
        # Farther than the tolerance from every unit: outside. The tolerance in degrees is
        # that of longitude, the larger, so no cell within it in metres is missed.
        owner = np.full(_GRID_CELLS**2, -1, dtype=np.int64)
        owner[cells.query(geoms, predicate="dwithin", distance=tolerance_deg + _EPS)[1]] = _MIXED
        # Candidates of a mixed cell: the units touching it, by cell then by unit.
        touch_unit, touch_cell = cells.query(geoms, predicate="intersects")
        order = np.lexsort((touch_unit, touch_cell))
        self._candidates = touch_unit[order]
        touching = np.bincount(touch_cell, minlength=owner.size)
        self._first = np.concatenate([[0], np.cumsum(touching)])
        # Held whole by one unit and touched by no other (real layers have small overlaps).
        unit_i, cell_i = cells.query(geoms, predicate="contains_properly")
        alone = touching[cell_i] == 1
        owner[cell_i[alone]] = unit_i[alone]
        self._owner = owner

    def lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per point its cell's answer: a unit index, -1 (outside), or _MIXED."""
        ix = np.floor((x - self._x0) / self._width)
        iy = np.floor((y - self._y0) / self._height)
        inside = (ix >= 0) & (ix < _GRID_CELLS) & (iy >= 0) & (iy < _GRID_CELLS)
        result = np.full(len(x), -1, dtype=np.int64)
        result[inside] = self._owner[self._cell(x[inside], y[inside])]
        return result

    def candidates(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point, unit) pairs for points of mixed cells: every unit touching the cell."""
        cell = self._cell(x, y)
        counts = self._first[cell + 1] - self._first[cell]
        point_i = np.repeat(np.arange(len(x)), counts)
        # Position of each pair in the flat candidate list: its cell's first, plus its rank.
        offset = np.repeat(self._first[cell] - (np.cumsum(counts) - counts), counts)
        return point_i, self._candidates[offset + np.arange(len(point_i))]

    def _cell(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ix = np.floor((x - self._x0) / self._width).astype(np.int64)
        iy = np.floor((y - self._y0) / self._height).astype(np.int64)
        cell: np.ndarray = iy * _GRID_CELLS + ix
        return cell
