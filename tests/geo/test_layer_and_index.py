"""The Hanoi district layer, the point-in-area rules, and the import of boundary files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Polygon

from geo import AreaIndex, AreaUnit, BoundaryLayer, LayerError, load_layer, load_pack
from ioc.settings import PROJECT_ROOT
from tests.conftest import shared_file

PACK = PROJECT_ROOT / "packs" / "hanoi"


@pytest.fixture(scope="module")
def districts() -> BoundaryLayer:
    return load_pack(PACK).layer("districts")


def test_the_thirty_districts_of_2008_to_2025_with_official_codes(
    districts: BoundaryLayer,
) -> None:
    assert len(districts.units) == 30
    assert districts.unit("002").name == "Hoàn Kiếm"
    assert districts.unit("269").kind == "thị xã"
    assert sum(u.kind == "quận" for u in districts.units) == 12
    assert str(districts.valid_to) == "2025-06-30"
    assert districts.approximate is True
    assert all(u.geometry.is_valid for u in districts.units)


def test_every_administrative_centre_falls_in_its_own_district(districts: BoundaryLayer) -> None:
    index = AreaIndex(districts)
    centres = [u.admin_centre for u in districts.units]
    assert all(c is not None for c in centres)
    codes = index.assign([c[0] for c in centres], [c[1] for c in centres])  # type: ignore[index]
    assert codes == districts.codes


def test_every_car_park_lands_in_the_district_its_address_names(
    districts: BoundaryLayer,
) -> None:
    index = AreaIndex(districts)
    sites = load_pack(PACK).asset_features("parking")
    codes = index.assign(
        [s["geometry"]["coordinates"][0] for s in sites],
        [s["geometry"]["coordinates"][1] for s in sites],
    )
    for site, code in zip(sites, codes, strict=True):
        assert code is not None
        assert site["properties"]["address"].endswith(districts.unit(code).name)


def test_points_just_outside_get_the_nearest_unit_and_far_ones_none(
    districts: BoundaryLayer,
) -> None:
    index = AreaIndex(districts, tolerance_m=300)
    # Westmost vertex of the outline (Ba Vì) at 105.29 E: 100 m west of it, and 20 km west.
    near = 105.29 - 100 / (111_320 * 0.933)
    far = 105.29 - 20_000 / (111_320 * 0.933)
    assert index.assign([near, far], [21.10, 21.10]) == ["271", None]
    assert index.outside_count == 1


def test_a_point_on_a_shared_border_gets_the_lowest_code() -> None:
    left = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    right = Polygon([(1, 0), (2, 0), (2, 1), (1, 1)])
    layer = BoundaryLayer("toy", {"en": "toy"}, (
        _unit("B", right), _unit("A", left),
    ))
    index = AreaIndex(layer, tolerance_m=0)
    assert index.assign([1.0, 0.5, 1.5], [0.5, 0.5, 0.5]) == ["A", "A", "B"]


def _unit(code: str, geometry: Polygon) -> AreaUnit:
    return AreaUnit(code=code, name=code, name_en=code, kind="", geometry=geometry)


def test_vectorised_assignment_agrees_with_one_by_one(districts: BoundaryLayer) -> None:
    rng = random.Random(1)
    lons = [rng.uniform(105.25, 106.05) for _ in range(100_000)]
    lats = [rng.uniform(20.50, 21.42) for _ in range(100_000)]
    index = AreaIndex(districts)
    codes = index.assign(lons, lats)
    # Fresh indexes given fewer points than it takes to build the cell grid answer with the
    # exact geometric test alone: the grid must agree with them everywhere.
    exact: list[str | None] = []
    for start in range(0, 100_000, 10_000):
        exact += AreaIndex(districts).assign(lons[start:start + 10_000],
                                             lats[start:start + 10_000])
    assert codes == exact
    for i in rng.sample(range(100_000), 300):
        assert index.assign_one(lons[i], lats[i]) == codes[i]
    assert 0 < codes.count(None) < 100_000


def test_the_hand_drawn_outline_matches_the_real_city_boundary(
    districts: BoundaryLayer,
) -> None:
    real = gpd.read_file(shared_file("hanoi/outline-osm.geojson")).geometry.union_all()
    ours = shapely.union_all([u.geometry for u in districts.units])
    iou = ours.intersection(real).area / ours.union(real).area
    assert iou >= 0.85


def test_approximate_areas_are_within_a_factor_of_two_and_a_half(
    districts: BoundaryLayer,
) -> None:
    frame = gpd.GeoDataFrame(
        {"area": [u.area_km2 for u in districts.units]},
        geometry=[u.geometry for u in districts.units], crs="EPSG:4326",
    ).to_crs("EPSG:32648")
    for official, measured in zip(frame["area"], frame.geometry.area / 1e6, strict=True):
        if official == official and official:
            assert 1 / 2.5 <= measured / official <= 2.5


def test_import_reprojects_and_repairs_and_reports(tmp_path: Path) -> None:
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])
    square = Polygon([(2, 0), (3, 0), (3, 1), (2, 1)])
    frame = gpd.GeoDataFrame(
        {"MA": ["X1", "X2"], "TEN": ["Một", "Hai"]},
        geometry=[shapely.affinity.translate(bowtie, 580_000, 2_320_000),
                  shapely.affinity.translate(square, 580_000, 2_320_000)],
        crs="EPSG:32648",
    )
    path = tmp_path / "units.gpkg"
    frame.to_file(path)
    layer = load_layer(path, "test", code_field="MA", name_field="TEN", name_en_field=None)
    assert layer.codes == ["X1", "X2"]
    assert [u.name for u in layer.units] == ["Một", "Hai"]
    assert len(layer.repaired) == 1 and layer.repaired[0].startswith("X1: Self-intersection")
    assert all(u.geometry.is_valid for u in layer.units)
    lon, lat = layer.units[1].geometry.centroid.coords[0]
    assert 105.7 < lon < 105.8 and 20.9 < lat < 21.0


def test_import_names_the_missing_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ten": "x"},
         "geometry": {"type": "Point", "coordinates": [105.8, 21.0]}}]}))
    with pytest.raises(LayerError, match="no field 'code'"):
        load_layer(path, "bad")


def test_points_without_a_position_get_no_unit_and_are_not_counted_outside(
    districts: BoundaryLayer,
) -> None:
    index = AreaIndex(districts)
    nan = float("nan")
    assert index.assign([nan, 105.8421], [nan, 21.0239]) == [None, "002"]
    assert index.outside_count == 0


def test_a_repair_that_leaves_polygons_and_lines_keeps_only_the_polygons(
    tmp_path: Path,
) -> None:
    # A bow-tie with a dangling spike: make_valid returns a MultiPolygon and a LineString.
    spiked_bowtie = Polygon(
        [(0, 0), (2, 2), (2, 0), (0, 2), (0, 0.5), (-1, 0.5), (0, 0.5), (0, 0)]
    )
    path = tmp_path / "spiked.geojson"
    gpd.GeoDataFrame(
        {"code": ["S1"], "name": ["Gai"]}, geometry=[spiked_bowtie], crs="EPSG:4326"
    ).to_file(path)
    layer = load_layer(path, "spiked")
    geometry = layer.unit("S1").geometry
    assert geometry.geom_type == "MultiPolygon" and geometry.is_valid
    assert geometry.area == pytest.approx(2.0)
    assert layer.repaired[0].startswith("S1: ")


def test_a_layer_of_points_is_refused_with_the_unit_named(tmp_path: Path) -> None:
    path = tmp_path / "points.geojson"
    gpd.GeoDataFrame(
        {"code": ["P1"], "name": ["Điểm"]}, geometry=[shapely.Point(105.8, 21.0)],
        crs="EPSG:4326",
    ).to_file(path)
    with pytest.raises(LayerError, match="unit 'P1' is a Point, not an area"):
        load_layer(path, "points")
