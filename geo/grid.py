"""A raster of a layer: most points are assigned by arithmetic, only border cells by geometry."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from shapely.strtree import STRtree

OUTSIDE = -1  # the whole cell is farther than the tolerance from every unit
EXACT = -2  # the cell touches a border (or lies near the layer): test the point itself
MAX_CELLS = 100_000


class CellGrid:
    """Each cell of a regular lon/lat grid holds the index of the unit that contains it
    whole, OUTSIDE, or EXACT. At most 100,000 cells: the grid builds in a third of a second,
    and the border cells, which need the exact test, hold a few per cent of the points."""

    def __init__(self, tree: STRtree, tolerance_deg: float) -> None:
        west, south, east, north = shapely.total_bounds(tree.geometries)
        pad = tolerance_deg * 1.5
        self.west, self.south = west - pad, south - pad
        width, height = east - west + 2 * pad, north - south + 2 * pad
        self.step = max(width, height) / (MAX_CELLS ** 0.5)
        self.columns = int(np.ceil(width / self.step))
        self.rows = int(np.ceil(height / self.step))
        self.cells = self._build(tree, tolerance_deg)

    def _build(self, tree: STRtree, tolerance_deg: float) -> npt.NDArray[np.int64]:
        col, row = np.meshgrid(np.arange(self.columns), np.arange(self.rows))
        x0 = self.west + col.ravel() * self.step
        y0 = self.south + row.ravel() * self.step
        boxes = shapely.box(x0, y0, x0 + self.step, y0 + self.step)
        cells = np.full(len(boxes), OUTSIDE, dtype=np.int64)
        near = tree.query(boxes, predicate="dwithin", distance=tolerance_deg)
        cells[near[0]] = EXACT
        inside = tree.query(boxes, predicate="within")
        # A cell wholly inside exactly one unit is that unit; any overlap stays EXACT.
        counts = np.bincount(inside[0], minlength=len(boxes))
        single = counts[inside[0]] == 1
        cells[inside[0][single]] = inside[1][single]
        return cells.reshape(self.rows, self.columns)

    def lookup(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
               ) -> npt.NDArray[np.int64]:
        """The cell value of each point (OUTSIDE beyond the grid)."""
        col = np.floor((x - self.west) / self.step).astype(np.int64)
        row = np.floor((y - self.south) / self.step).astype(np.int64)
        on_grid = (col >= 0) & (col < self.columns) & (row >= 0) & (row < self.rows)
        values = np.full(len(x), OUTSIDE, dtype=np.int64)
        values[on_grid] = self.cells[row[on_grid], col[on_grid]]
        return values
