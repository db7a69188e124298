"""Point-in-area assignment: a cell grid for most points, an STRtree for points near borders."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import shapely
import shapely.ops
from shapely.strtree import STRtree

from geo.grid import EXACT, OUTSIDE, CellGrid
from geo.layer import BoundaryLayer

Coordinates = Sequence[float] | npt.NDArray[np.float64]

# Metres per degree of latitude; a degree of longitude is this times cos(latitude).
_M_PER_DEG = 111_320.0


class AreaIndex:
    """Assigns points to the units of one layer.

    Rules: a point inside one unit gets it; a point on a shared border (inside or touching
    several) gets the lowest code among them, so the answer never depends on order; a point
    outside every unit gets the nearest unit within `tolerance_m`, else None, and is counted
    in `outside_count`.
    """

    def __init__(self, layer: BoundaryLayer, tolerance_m: float = 300.0) -> None:
        self.layer = layer
        self.tolerance_m = tolerance_m
        self.outside_count = 0
        # Sorting by code makes "lowest code wins" a matter of taking the lowest index.
        order = sorted(range(len(layer.units)), key=lambda i: layer.units[i].code)
        self._codes = np.array([layer.units[i].code for i in order], dtype=object)
        geoms = [layer.units[i].geometry for i in order]
        self._tree = STRtree(geoms)
        centre_lat = float(np.mean([g.centroid.y for g in geoms]))
        self._m_per_deg_lon = _M_PER_DEG * math.cos(math.radians(centre_lat))
        self._grid = CellGrid(self._tree, tolerance_m / self._m_per_deg_lon)

    def assign(self, lons: Coordinates, lats: Coordinates) -> list[str | None]:
        """Unit code of each point (None beyond the tolerance, or with no position at all)."""
        x = np.asarray(lons, dtype=float)
        y = np.asarray(lats, dtype=float)
        located = np.isfinite(x) & np.isfinite(y)
        # A record without a position (NaN) has no area; it is not "outside" either.
        result = np.where(located, self._grid.lookup(np.where(located, x, 0.0),
                                                     np.where(located, y, 0.0)), -3)
        exact = np.flatnonzero(result == EXACT)
        if exact.size:
            result[exact] = self._assign_located(shapely.points(x[exact], y[exact]))
        self.outside_count += int(np.count_nonzero(result == OUTSIDE))
        codes = np.full(len(result), None, dtype=object)
        known = result >= 0
        codes[known] = self._codes[result[known]]
        return list(codes.tolist())

    def _assign_located(self, points: np.ndarray) -> np.ndarray:
        none = len(self._codes)
        result = np.full(len(points), none, dtype=np.int64)
        pairs = self._tree.query(points, predicate="intersects")
        # Several hits for one point (a border): keep the smallest index, the lowest code.
        np.minimum.at(result, pairs[0], pairs[1])
        result[result == none] = -1
        missing = np.flatnonzero(result < 0)
        if missing.size:
            result[missing] = self._nearest(points[missing])
        return result

    def assign_one(self, lon: float, lat: float) -> str | None:
        """Unit code of one point."""
        return self.assign([lon], [lat])[0]

    def _nearest(self, points: np.ndarray) -> np.ndarray:
        # Scale degrees to metres locally so the tolerance is in metres, not degrees.
        tolerance_deg = self.tolerance_m / self._m_per_deg_lon
        pairs, distances = self._tree.query_nearest(
            points, max_distance=tolerance_deg, return_distance=True, all_matches=False
        )
        found = np.full(len(points), -1, dtype=np.int64)
        for point_i, tree_i, _ in zip(pairs[0], pairs[1], distances, strict=True):
            geometry = self._tree.geometries[tree_i]
            nearest = shapely.ops.nearest_points(geometry, points[point_i])[0]
            dx = (nearest.x - points[point_i].x) * self._m_per_deg_lon
            dy = (nearest.y - points[point_i].y) * _M_PER_DEG
            if math.hypot(dx, dy) <= self.tolerance_m:
                found[point_i] = tree_i
        return found
