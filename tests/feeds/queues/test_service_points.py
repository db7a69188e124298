"""The pack's one-stop shops, and how service-point features and opening hours are read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from feeds.queues.points import PointError, load_service_points, parse_opening_hours
from geo import AreaIndex, load_pack
from tests.feeds.queues.conftest import point_feature

PACK = Path(__file__).resolve().parents[3] / "packs" / "hanoi"
# Hanoi's extent (2008 boundaries) with a little margin.
HANOI_BBOX = (105.25, 20.50, 106.05, 21.40)


def test_one_desk_per_district_and_the_city_centre(pack_features: list[dict[str, Any]]) -> None:
    points = load_service_points(pack_features)
    assert len(points) == 31
    levels = [p.level for p in points.values()]
    assert levels.count("city") == 1 and levels.count("district") == 30
    districts = {f["properties"]["district"] for f in pack_features if
                 f["properties"]["level"] == "district"}
    assert districts == set(load_pack(PACK).layer("districts").codes)
    city = points["hcc-ha-noi"]
    assert city.name == "Trung tâm Phục vụ hành chính công Hà Nội"
    assert all(p.name.startswith("Bộ phận Một cửa UBND") for p in points.values() if p is not city)
    assert all(p.counters > 0 and p.service_types and p.target_wait_min == 15
               for p in points.values())


def test_every_desk_lies_in_hanoi_and_in_the_district_it_serves(
    pack_features: list[dict[str, Any]],
) -> None:
    west, south, east, north = HANOI_BBOX
    lons = [f["geometry"]["coordinates"][0] for f in pack_features]
    lats = [f["geometry"]["coordinates"][1] for f in pack_features]
    assert all(west <= lon <= east and south <= lat <= north
               for lon, lat in zip(lons, lats, strict=True))
    layer = load_pack(PACK).layer("districts")
    codes = AreaIndex(layer).assign(lons, lats)
    assert codes == [f["properties"]["district"] for f in pack_features]
    for feature in pack_features[1:]:
        unit = layer.unit(feature["properties"]["district"])
        assert unit.admin_centre == pytest.approx(tuple(feature["geometry"]["coordinates"]))


def test_office_hours_with_a_lunch_break_and_saturday_morning() -> None:
    sessions = parse_opening_hours("Mo-Fr 08:00-12:00,13:00-17:00; Sa 08:00-12:00")
    assert sessions[0] == sessions[4] == ((480, 720), (780, 1020))
    assert sessions[5] == ((480, 720),)
    assert 6 not in sessions
    assert parse_opening_hours("Mo,We 07:30-11:30")[2] == ((450, 690),)


@pytest.mark.parametrize("text", [
    "", "Mo-Fr", "Xx 08:00-12:00", "Fr-Mo 08:00-12:00", "Mo 8-12", "Mo 12:00-08:00",
    "Mo 08:00-25:00",
])
def test_unreadable_opening_hours_are_refused(text: str) -> None:
    with pytest.raises(PointError):
        parse_opening_hours(text)


def test_a_point_inside_and_outside_its_sessions() -> None:
    [point] = load_service_points([point_feature("mc-x")]).values()
    assert point.session_at(0, 8 * 60) == (480, 720)
    assert point.session_at(0, 12 * 60) is None  # lunch
    assert point.session_at(0, 16 * 60 + 59.5) == (780, 1020)
    assert point.session_at(5, 9 * 60) is None  # no Saturday here


@pytest.mark.parametrize(("feature", "message"), [
    (point_feature("mc-x", level="ward"), "unknown level 'ward'"),
    (point_feature("mc-x", counters=0), "needs counters and service types"),
    (point_feature("mc-x", counters="many"), "malformed service point feature"),
    ({"type": "Feature", "properties": {"id": "mc-x"}}, "malformed service point feature"),
])
def test_malformed_points_are_refused(feature: dict[str, Any], message: str) -> None:
    with pytest.raises(PointError, match=message):
        load_service_points([feature])


def test_a_point_id_used_twice_is_refused() -> None:
    with pytest.raises(PointError, match="appears twice"):
        load_service_points([point_feature("mc-x"), point_feature("mc-x")])
