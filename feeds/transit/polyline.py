"""A path on the ground: distances in metres along it, points at a distance, nearest distance."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


class Polyline:
    """A WGS84 line string measured in metres from its first vertex."""

    def __init__(self, points: Sequence[tuple[float, float]]) -> None:
        if len(points) < 2:
            raise ValueError("a polyline needs at least two points")
        self.points = list(points)
        self.cumulative = [0.0]
        for (lon1, lat1), (lon2, lat2) in zip(points, points[1:], strict=False):
            self.cumulative.append(self.cumulative[-1] + haversine_m(lon1, lat1, lon2, lat2))
        # A local plane around the first point: exact enough for a city-sized path.
        self._kx = math.cos(math.radians(points[0][1])) * EARTH_RADIUS_M * math.pi / 180
        self._ky = EARTH_RADIUS_M * math.pi / 180

    @property
    def length(self) -> float:
        """Length in metres."""
        return self.cumulative[-1]

    def point_at(self, distance: float) -> tuple[float, float, float]:
        """(lon, lat, bearing in degrees from north) at a distance along the line, clamped."""
        distance = min(max(distance, 0.0), self.length)
        i = min(bisect.bisect_right(self.cumulative, distance), len(self.points) - 1)
        (lon1, lat1), (lon2, lat2) = self.points[i - 1], self.points[i]
        span = self.cumulative[i] - self.cumulative[i - 1]
        f = (distance - self.cumulative[i - 1]) / span if span else 0.0
        dx, dy = (lon2 - lon1) * self._kx, (lat2 - lat1) * self._ky
        bearing = math.degrees(math.atan2(dx, dy)) % 360
        return lon1 + f * (lon2 - lon1), lat1 + f * (lat2 - lat1), bearing

    def locate(self, lon: float, lat: float, after: float = 0.0) -> float:
        """Distance along the line of the nearest point to (lon, lat), at or after `after`.

        Searching only ahead keeps successive stops in order on a path that runs back past
        itself.
        """
        best, best_d2 = after, math.inf
        for i in range(1, len(self.points)):
            if self.cumulative[i] < after:
                continue
            (lon1, lat1), (lon2, lat2) = self.points[i - 1], self.points[i]
            ax, ay = (lon2 - lon1) * self._kx, (lat2 - lat1) * self._ky
            px, py = (lon - lon1) * self._kx, (lat - lat1) * self._ky
            seg2 = ax * ax + ay * ay
            f = min(max((px * ax + py * ay) / seg2, 0.0), 1.0) if seg2 else 0.0
            d2 = (px - f * ax) ** 2 + (py - f * ay) ** 2
            at = self.cumulative[i - 1] + f * (self.cumulative[i] - self.cumulative[i - 1])
            if d2 < best_d2 and at >= after:
                best, best_d2 = at, d2
        return best
