"""The directory of service points (one-stop shops): where they are and when they are open."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LEVELS = ("city", "district", "commune")
DEFAULT_TARGET_WAIT_MIN = 15.0

_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")

# Weekday (0 = Monday) to the day's sessions as (start, end) minutes after local midnight.
Sessions = Mapping[int, tuple[tuple[int, int], ...]]


class PointError(ValueError):
    """A service-point feature or its opening hours could not be read."""


@dataclass(frozen=True, slots=True)
class ServicePoint:
    """One reception desk ("bộ phận một cửa") as the pack describes it."""

    id: str
    name: str
    level: str
    lon: float
    lat: float
    counters: int
    service_types: frozenset[str]
    opening_hours: str
    sessions: Sessions
    target_wait_min: float = DEFAULT_TARGET_WAIT_MIN

    def session_at(self, weekday: int, minute: float) -> tuple[int, int] | None:
        """The session open at a local weekday and minute of the day, if any (end excluded)."""
        for start, end in self.sessions.get(weekday, ()):
            if start <= minute < end:
                return start, end
        return None


def parse_opening_hours(text: str) -> dict[int, tuple[tuple[int, int], ...]]:
    """Read the subset of OSM opening_hours the pack uses: "Mo-Fr 08:00-12:00,13:00-17:00; Sa …"."""
    sessions: dict[int, tuple[tuple[int, int], ...]] = {}
    for rule in filter(None, (part.strip() for part in text.split(";"))):
        try:
            days_text, spans_text = rule.split()
        except ValueError as err:
            raise PointError(f"opening hours rule {rule!r} is not 'DAYS HH:MM-HH:MM'") from err
        spans = tuple(_span(span) for span in spans_text.split(","))
        for day in _days(days_text):
            sessions[day] = tuple(sorted(sessions.get(day, ()) + spans))
    if not sessions:
        raise PointError(f"opening hours {text!r} name no session")
    return sessions


def _days(text: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise PointError(f"unknown day range {part!r}")
        low = _DAYS.index(first)
        high = _DAYS.index(last) if last else low
        if high < low:
            raise PointError(f"day range {part!r} runs backwards")
        days.extend(range(low, high + 1))
    return days


def _span(text: str) -> tuple[int, int]:
    match = _SPAN.match(text)
    if match is None:
        raise PointError(f"session {text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if not 0 <= start < end <= 24 * 60 or m1 > 59 or m2 > 59:
        raise PointError(f"session {text!r} is not a span within one day")
    return start, end


def load_service_points(features: Iterable[dict[str, Any]]) -> dict[str, ServicePoint]:
    """Build the directory of service points from GeoJSON point features."""
    points: dict[str, ServicePoint] = {}
    for feature in features:
        point = _point(feature)
        if point.id in points:
            raise PointError(f"service point {point.id!r} appears twice")
        points[point.id] = point
    return points


def _point(feature: dict[str, Any]) -> ServicePoint:
    try:
        props = feature["properties"]
        geometry = feature["geometry"]
        if geometry["type"] != "Point":
            raise PointError(f"service point {props.get('id')!r} is not a Point")
        lon, lat = (float(v) for v in geometry["coordinates"][:2])
        point = ServicePoint(
            id=str(props["id"]),
            name=str(props["name"]),
            level=str(props["level"]),
            lon=lon,
            lat=lat,
            counters=int(props["counters"]),
            service_types=frozenset(str(t) for t in props["service_types"]),
            opening_hours=str(props["opening_hours"]),
            sessions=parse_opening_hours(str(props["opening_hours"])),
            target_wait_min=float(props.get("target_wait_min", DEFAULT_TARGET_WAIT_MIN)),
        )
    except PointError:
        raise
    except (KeyError, TypeError, ValueError) as err:
        raise PointError(f"malformed service point feature: {err!r}") from err
    if point.level not in LEVELS:
        raise PointError(f"service point {point.id!r} has unknown level {point.level!r}")
    if point.counters < 1 or not point.service_types:
        raise PointError(f"service point {point.id!r} needs counters and service types")
    return point
