"""Well-known places fall in the unit that holds them, on the district and the ward layer."""

from __future__ import annotations

import pytest
import shapely

from geo import AreaIndex, load_pack
from ioc.settings import PROJECT_ROOT
from tests.geo.test_import_layers import copy_pack, import_wards

# (lon, lat) of a point inside each place, read off the map.
LANDMARKS = {
    "Hồ Hoàn Kiếm": (105.8523, 21.0285),  # mid-lake, between Tháp Rùa and Đền Ngọc Sơn
    "Lăng Chủ tịch Hồ Chí Minh": (105.8347, 21.0368),
    "Văn Miếu - Quốc Tử Giám": (105.8358, 21.0283),  # Khuê Văn Các
    "Sân vận động Mỹ Đình": (105.7637, 21.0205),
    "Hồ Tây, east shore": (105.8318, 21.0595),  # Xuân Diệu street, on land
    "Chùa Trấn Quốc": (105.8368, 21.0480),
    "Ga Hà Nội": (105.8406, 21.0244),  # main building, west of Lê Duẩn
    "Cầu Long Biên, east end": (105.8675, 21.0470),  # the Gia Lâm approach, on land
    "Thành cổ Sơn Tây": (105.5058, 21.1406),
    "Chùa Hương": (105.7432, 20.6197),  # Thiên Trù pagoda, Hương Sơn
}


@pytest.fixture(scope="module")
def districts() -> AreaIndex:
    return AreaIndex(load_pack(PROJECT_ROOT / "packs" / "hanoi").layer("districts"))


@pytest.fixture(scope="module")
def wards(tmp_path_factory: pytest.TempPathFactory) -> AreaIndex:
    return AreaIndex(import_wards(copy_pack(tmp_path_factory.mktemp("pack"))).layer)


@pytest.mark.parametrize(("place", "codes"), [
    ("Hồ Hoàn Kiếm", {"002"}),
    ("Lăng Chủ tịch Hồ Chí Minh", {"001"}),
    ("Văn Miếu - Quốc Tử Giám", {"006"}),
    ("Sân vận động Mỹ Đình", {"019"}),
    ("Hồ Tây, east shore", {"003"}),
    # Yên Phụ, Tây Hồ: the pagoda is on the West Lake side of Thanh Niên road.
    ("Chùa Trấn Quốc", {"003"}),
    # Lê Duẩn is the Hoàn Kiếm-Đống Đa border here, and sources disagree on which side the
    # station's land was (Cửa Nam, Hoàn Kiếm or Văn Miếu, Đống Đa): either, nothing else.
    ("Ga Hà Nội", {"002", "006"}),
    ("Cầu Long Biên, east end", {"004"}),
    ("Thành cổ Sơn Tây", {"269"}),
    ("Chùa Hương", {"282"}),
])
def test_landmarks_fall_in_their_district_of_2008_to_2025(
    districts: AreaIndex, place: str, codes: set[str]
) -> None:
    assert districts.assign_one(*LANDMARKS[place]) in codes


@pytest.mark.parametrize(("place", "ward"), [
    ("Hồ Hoàn Kiếm", "Phường Hoàn Kiếm"),
    ("Lăng Chủ tịch Hồ Chí Minh", "Phường Ba Đình"),
    ("Văn Miếu - Quốc Tử Giám", "Phường Văn Miếu - Quốc Tử Giám"),
    ("Sân vận động Mỹ Đình", "Phường Từ Liêm"),
    ("Thành cổ Sơn Tây", "Phường Sơn Tây"),
    ("Chùa Hương", "Xã Hương Sơn"),
])
def test_landmarks_fall_in_their_ward_of_2025(wards: AreaIndex, place: str, ward: str) -> None:
    code = wards.assign_one(*LANDMARKS[place])
    assert code is not None and wards.layer.unit(code).name == ward


def test_a_point_on_a_ward_border_gets_the_lowest_code(wards: AreaIndex) -> None:
    hoan_kiem, cua_nam = wards.layer.unit("phuong-hoan-kiem"), wards.layer.unit("phuong-cua-nam")
    shared = sorted(set(_vertices(hoan_kiem.geometry)) & set(_vertices(cua_nam.geometry)))
    # The first shared vertex is where Ba Đình meets them too: three wards, lowest code wins.
    assert [_holders(wards, v) for v in shared[:2]] == [
        {"phuong-ba-dinh", "phuong-cua-nam", "phuong-hoan-kiem"},
        {"phuong-cua-nam", "phuong-hoan-kiem"},
    ]
    assert wards.assign([v[0] for v in shared[:2]], [v[1] for v in shared[:2]]) == [
        "phuong-ba-dinh", "phuong-cua-nam"]


def test_points_outside_the_wards_get_the_nearest_within_tolerance_else_none(
    wards: AreaIndex,
) -> None:
    index = AreaIndex(wards.layer, tolerance_m=300)
    # Nothing lies west of the westmost vertex, so a point due west of it is outside, and its
    # nearest units are those that hold the vertex.
    lon, lat = min(v for u in index.layer.units for v in _vertices(u.geometry))
    holders = _holders(index, (lon, lat))
    metre = 1 / (111_320 * 0.933)  # a metre of longitude at 21° N, in degrees
    lons = [lon - 100 * metre, lon - 400 * metre, lon - 20_000 * metre]
    near, beyond, far = index.assign(lons, [lat] * 3)
    assert near in holders
    assert beyond is None and far is None
    assert index.outside_count == 2


def _holders(index: AreaIndex, vertex: tuple[float, float]) -> set[str]:
    point = shapely.Point(vertex)
    return {u.code for u in index.layer.units if u.geometry.intersects(point)}


def _vertices(geometry: shapely.Geometry) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in shapely.get_coordinates(geometry)]

