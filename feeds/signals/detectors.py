"""Detector configuration: which channel serves which phase, how, and where advance loops sit."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from feeds.base import Parsed, Rejected

# An advance loop with no surveyed distance: ~100 m upstream is common on Hanoi's short blocks.
DEFAULT_ADVANCE_DISTANCE_M = 100.0
# Motorbike-dominated urban flow runs below the 50-60 km/h limits; configure per approach.
DEFAULT_APPROACH_SPEED_KMH = 40.0
MAX_PHASE = 16
MAX_CHANNEL = 255

# Spellings met in ATSPM exports, mapped to the four functions the measures use.
FUNCTIONS = {
    "presence": "presence",
    "stop bar presence": "presence",
    "advance": "advance",
    "advance count": "advance",
    "count": "count",
    "stop bar count": "count",
    "lane-by-lane count": "count",
    "yellow_red": "yellow_red",
    "yellow red": "yellow_red",
}


class DetectorConfig(NamedTuple):
    """One detector channel of a signal: its phase, its function and, if advance, its position."""

    signal_id: str
    channel: int
    phase: int
    function: str
    distance_m: float | None = None
    speed_kmh: float | None = None

    @property
    def travel_s(self) -> float:
        """Seconds from this detector to the stop bar (distance / speed; 0 off advance loops)."""
        if self.function != "advance":
            return 0.0
        distance = DEFAULT_ADVANCE_DISTANCE_M if self.distance_m is None else self.distance_m
        speed = DEFAULT_APPROACH_SPEED_KMH if self.speed_kmh is None else self.speed_kmh
        return distance / (speed / 3.6)


class ConfigColumns(NamedTuple):
    """Which CSV column holds each field (defaults: the ATSPM sample; the last two optional)."""

    signal_id: str = "DeviceId"
    phase: str = "Phase"
    channel: str = "Parameter"
    function: str = "Function"
    distance_m: str = "distance_m"
    speed_kmh: str = "speed_kmh"


ATSPM_CONFIG_COLUMNS = ConfigColumns()


class InvalidDetector(ValueError):
    """One configuration row broke the schema."""


def _bounded_int(name: str, value: Any, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidDetector(f"{name} {value!r} is not an integer") from None
    if type(value) is bool or not 1 <= number <= high:
        raise InvalidDetector(f"{name} {value!r} is outside 1-{high}")
    return number


def _optional_float(name: str, value: Any, low: float, high: float) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidDetector(f"{name} {value!r} is not a number") from None
    if type(value) is bool or not math.isfinite(number) or not low <= number <= high:
        raise InvalidDetector(f"{name} {value!r} is outside [{low}, {high}]")
    return number


def detector(
    signal_id: Any, channel: Any, phase: Any, function: Any,
    distance_m: Any = None, speed_kmh: Any = None,
) -> DetectorConfig:
    """Validate one detector's fields (text or JSON values) into a configuration."""
    sid = str(signal_id).strip() if type(signal_id) in (str, int) else ""
    if not sid:
        raise InvalidDetector(f"signal id {signal_id!r} is not a non-empty id")
    name = FUNCTIONS.get(str(function).strip().lower())
    if name is None:
        raise InvalidDetector(f"unknown detector function {function!r}")
    return DetectorConfig(
        sid,
        _bounded_int("channel", channel, MAX_CHANNEL),
        _bounded_int("phase", phase, MAX_PHASE),
        name,
        _optional_float("distance_m", distance_m, 1.0, 1000.0),
        _optional_float("speed_kmh", speed_kmh, 5.0, 130.0),
    )


def parse_detector_csv(
    payload: bytes, *, columns: ConfigColumns = ATSPM_CONFIG_COLUMNS
) -> Parsed[DetectorConfig]:
    """Parse a detector configuration CSV; bad rows are rejected one by one."""
    parsed: Parsed[DetectorConfig] = Parsed()
    lines = payload.decode("utf-8-sig", errors="replace").splitlines()
    reader = csv.DictReader(lines)
    names = reader.fieldnames = [name.strip() for name in reader.fieldnames or ()]
    required = (columns.signal_id, columns.phase, columns.channel, columns.function)
    missing = [col for col in required if col not in names]
    if missing:
        raw = lines[0] if lines else ""
        parsed.rejected.append(Rejected(f"missing column(s) {', '.join(missing)}", raw))
        return parsed
    for row in reader:
        try:
            parsed.observations.append(detector(
                row[columns.signal_id], row[columns.channel], row[columns.phase],
                row[columns.function], row.get(columns.distance_m), row.get(columns.speed_kmh),
            ))
        except InvalidDetector as err:
            parsed.rejected.append(Rejected(str(err), lines[reader.line_num - 1]))
    return parsed


def detectors_from_features(features: Iterable[Mapping[str, Any]]) -> list[DetectorConfig]:
    """The detector configuration of the pack's signals (GeoJSON features' `detectors`)."""
    return [
        detector(
            feature["properties"]["id"], item["channel"], item["phase"], item["function"],
            item.get("distance_m"), item.get("speed_kmh"),
        )
        for feature in features
        for item in feature["properties"].get("detectors", ())
    ]
