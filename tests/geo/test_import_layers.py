"""Importing boundary files into a copy of the Hanoi pack: normalized, registered, reloadable."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Polygon

from geo import LayerError, load_pack
from geo.importer import CODE_FROM_NAME, ImportedLayer, code_from_name, import_layer
from ioc.settings import PROJECT_ROOT
from tests.conftest import shared_file

PACK = PROJECT_ROOT / "packs" / "hanoi"
WARDS_TITLE = {"vi": "Phường, xã (từ 2025)", "en": "Wards and communes (from 2025)"}
# More than 6 decimals anywhere in a written layer file.
LONG_DECIMALS = re.compile(r"\d\.\d{7,}")


def copy_pack(target: Path) -> Path:
    """A copy of the Hanoi pack to import into; the real one is never written."""
    return Path(shutil.copytree(PACK, target / "hanoi"))


def import_wards(pack: Path) -> ImportedLayer:
    """The shared OSM wards of 2025, imported as the pack's layer "wards-2025"."""
    return import_layer(
        shared_file("hanoi/wards-2025-osm.geojson"), pack, "wards-2025",
        code_field=CODE_FROM_NAME, name_field="name", name_en_field="name:en",
        title=WARDS_TITLE, valid_from=date(2025, 7, 1),
    )


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    return copy_pack(tmp_path)


def test_the_osm_wards_import_as_a_second_layer_of_126_units(pack: Path) -> None:
    result = import_wards(pack)
    assert result.units == 126 and result.repairs == () and not result.replaced
    assert result.path == pack / "layers" / "wards-2025.geojson"
    reloaded = load_pack(pack)
    assert reloaded.layer_names == ["districts", "wards-2025"]
    assert len(reloaded.layer("districts").units) == 30
    wards = reloaded.layer("wards-2025")
    assert len(wards.units) == 126 and wards.repaired == ()
    assert wards.title == WARDS_TITLE and wards.valid_from == date(2025, 7, 1)
    assert wards.valid_to is None and wards.approximate is False
    assert all(u.geometry.is_valid for u in wards.units)
    assert wards.unit("phuong-hoan-kiem").name_en == "Hoan Kiem Ward"
    source = gpd.read_file(shared_file("hanoi/wards-2025-osm.geojson"))
    english = dict(zip(source["name"], source["name:en"], strict=True))
    assert sum(not isinstance(e, str) for e in english.values()) == 15
    for name, name_en in english.items():
        unit = wards.unit(code_from_name(name))
        # Where OSM has no English name the Vietnamese one stands in, as load_layer does.
        assert (unit.name, unit.name_en) == (name, name_en if isinstance(name_en, str) else name)
    # Snapping to 6 decimals moves borders by centimetres, not the city's area.
    assert sum(u.geometry.area for u in wards.units) == pytest.approx(
        shapely.area(source.geometry.values).sum(), rel=1e-6
    )
    assert not LONG_DECIMALS.search(result.path.read_text(encoding="utf-8"))


def test_pack_json_changes_only_by_the_new_entry(pack: Path) -> None:
    before = (pack / "pack.json").read_text(encoding="utf-8")
    import_wards(pack)
    after = (pack / "pack.json").read_text(encoding="utf-8")
    manifest = json.loads(after)
    assert manifest["layers"].pop("wards-2025") == {
        "file": "layers/wards-2025.geojson", "title": WARDS_TITLE,
        "valid_from": "2025-07-01", "approximate": False,
    }
    assert manifest == json.loads(before)
    # Byte for byte outside "layers", and the old entry keeps its lines (plus a comma).
    layers_at, tail_at = before.index('  "layers"'), before.index('\n  "gtfs"')
    assert after.startswith(before[: before.index("\n  }", layers_at)] + ",\n")
    assert after.endswith(before[tail_at:])
    assert '"vi": "Phường, xã (từ 2025)"' in after


@pytest.mark.parametrize("suffix", ["shp", "gpkg"])
def test_shapefiles_and_geopackages_in_utm_import(pack: Path, tmp_path: Path,
                                                  suffix: str) -> None:
    districts = load_pack(pack).layer("districts")
    source = tmp_path / f"quan-huyen.{suffix}"
    gpd.GeoDataFrame(
        {"MA": [u.code for u in districts.units], "TEN": [u.name for u in districts.units],
         "TEN_EN": [u.name_en for u in districts.units],
         "LOAI": [u.kind for u in districts.units]},
        geometry=[u.geometry for u in districts.units], crs="EPSG:4326",
    ).to_crs("EPSG:32648").to_file(source)
    result = import_layer(source, pack, "districts-utm", code_field="MA", name_field="TEN",
                          name_en_field="TEN_EN", kind_field="LOAI", code_prefix="HN-")
    assert result.units == 30 and result.repairs == ()
    imported = result.layer
    assert imported.codes == [f"HN-{code}" for code in districts.codes]
    for original in districts.units:
        unit = imported.unit(f"HN-{original.code}")
        assert (unit.name, unit.name_en, unit.kind) == (
            original.name, original.name_en, original.kind)
        # Back in WGS84 to within the 6 written decimals (0.1 m), however the border runs.
        assert unit.geometry.symmetric_difference(original.geometry).area < 1e-6 * (
            original.geometry.length)
    assert not LONG_DECIMALS.search(result.path.read_text(encoding="utf-8"))


def test_repairs_are_reported_and_written_repaired(pack: Path, tmp_path: Path) -> None:
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])
    source = tmp_path / "units.gpkg"
    gpd.GeoDataFrame(
        {"ma": ["X1"], "ten": ["Nơ"]},
        geometry=[shapely.affinity.translate(bowtie, 580_000, 2_320_000)], crs="EPSG:32648",
    ).to_file(source)
    result = import_layer(source, pack, "bowtie", code_field="ma", name_field="ten")
    assert len(result.repairs) == 1 and result.repairs[0].startswith("X1: Self-intersection")
    assert result.layer.repaired == ()  # the file written needs no further repair
    assert result.layer.unit("X1").geometry.geom_type == "MultiPolygon"


def _small_source(path: Path, names: list[str], **extra: list[str]) -> Path:
    squares = [shapely.box(105.8 + i / 100, 21.0, 105.81 + i / 100, 21.01)
               for i in range(len(names))]
    gpd.GeoDataFrame({"ten": names, **extra}, geometry=squares, crs="EPSG:4326").to_file(path)
    return path


@pytest.mark.parametrize("missing", ["code_field", "name_field", "name_en_field", "kind_field"])
def test_a_missing_field_is_named_and_nothing_is_written(
    pack: Path, tmp_path: Path, missing: str
) -> None:
    source = _small_source(tmp_path / "x.geojson", ["Một"], ma=["1"], loai=["phường"],
                           ten_en=["One"])
    fields = {"code_field": "ma", "name_field": "ten", "name_en_field": "ten_en",
              "kind_field": "loai", missing: "nope"}
    before = (pack / "pack.json").read_text(encoding="utf-8")
    with pytest.raises(LayerError, match="has no field 'nope'; fields are"):
        import_layer(source, pack, "x", **fields)  # type: ignore[arg-type]
    assert (pack / "pack.json").read_text(encoding="utf-8") == before
    assert not (pack / "layers" / "x.geojson").exists()


def test_reimporting_replaces_the_layer_in_place(pack: Path, tmp_path: Path) -> None:
    three = _small_source(tmp_path / "three.geojson", ["Phường Một", "Phường Hai", "Xã Ba"])
    two = _small_source(tmp_path / "two.geojson", ["Phường Một", "Xã Ba"])
    first = import_layer(three, pack, "test", code_field=CODE_FROM_NAME, name_field="ten")
    import_layer(two, pack, "other", code_field=CODE_FROM_NAME, name_field="ten")
    again = import_layer(two, pack, "test", code_field=CODE_FROM_NAME, name_field="ten",
                         title={"en": "Test, again"})
    assert not first.replaced and again.replaced
    reloaded = load_pack(pack)
    assert reloaded.layer_names == ["districts", "test", "other"]
    assert reloaded.manifest["layers"]["test"]["title"] == {"en": "Test, again"}
    assert first.layer.codes == ["phuong-hai", "phuong-mot", "xa-ba"]
    # A unit's code comes from its own name, so dropping another leaves it unchanged.
    assert reloaded.layer("test").codes == ["phuong-mot", "xa-ba"]
    assert sorted(p.name for p in (pack / "layers").iterdir()) == [
        "districts-2008.geojson", "other.geojson", "test.geojson"]


def test_codes_made_from_names_are_ascii_slugs_and_must_differ(
    pack: Path, tmp_path: Path
) -> None:
    assert code_from_name("Phường Văn Miếu - Quốc Tử Giám") == "phuong-van-mieu-quoc-tu-giam"
    assert code_from_name("Xã Đông Anh") == "xa-dong-anh"
    clash = _small_source(tmp_path / "clash.geojson", ["Xã Phú Cát", "Xã Phù Cát"])
    with pytest.raises(LayerError, match="'Xã Phù Cát': 'xa-phu-cat', as does 'Xã Phú Cát'"):
        import_layer(clash, pack, "clash", code_field=CODE_FROM_NAME, name_field="ten")


def test_a_layer_may_not_take_another_layers_file_or_leave_the_pack(
    pack: Path, tmp_path: Path
) -> None:
    source = _small_source(tmp_path / "one.geojson", ["Một"])
    shipped = (pack / "layers" / "districts-2008.geojson").read_bytes()
    with pytest.raises(LayerError, match="already belongs to layer 'districts'"):
        import_layer(source, pack, "districts-2008", code_field=CODE_FROM_NAME, name_field="ten")
    assert (pack / "layers" / "districts-2008.geojson").read_bytes() == shipped
    with pytest.raises(LayerError, match="layer name '../wards'"):
        import_layer(source, pack, "../wards", code_field=CODE_FROM_NAME, name_field="ten")
