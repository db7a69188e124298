"""Service-point directories for the queue tests: a small hand-made one and the Hanoi pack's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from feeds.queues.points import ServicePoint, load_service_points

PACK_POINTS = Path(__file__).resolve().parents[3] / "packs/hanoi/assets/service_points.geojson"


def point_feature(point_id: str, counters: Any = 4, **props: Any) -> dict[str, Any]:
    """A GeoJSON service-point feature with sensible defaults."""
    properties: dict[str, Any] = {
        "id": point_id, "name": f"Bộ phận Một cửa {point_id}", "level": "district",
        "counters": counters, "service_types": ["civil_status", "land"],
        "opening_hours": "Mo-Fr 08:00-12:00,13:00-17:00", "target_wait_min": 15,
    }
    properties.update(props)
    return {"type": "Feature", "properties": properties,
            "geometry": {"type": "Point", "coordinates": [105.8142, 21.0339]}}


@pytest.fixture
def points() -> dict[str, ServicePoint]:
    """Two desks: Ba Đình (4 counters) and Hoàn Kiếm (2 counters)."""
    return load_service_points([point_feature("mc-ba-dinh"), point_feature("mc-hoan-kiem", 2)])


@pytest.fixture(scope="session")
def pack_features() -> list[dict[str, Any]]:
    """The Hanoi pack's service-point features."""
    features: list[dict[str, Any]] = json.loads(PACK_POINTS.read_text("utf-8"))["features"]
    return features
