"""Regenerate layers/districts-2008.geojson: approximate polygons of Hanoi's 30 districts.

No official district polygons are available to this project, so the layer is built from
facts: each district's GSO code, names, type, official area and administrative-centre point,
and a hand-drawn outline of the city. The outline is cut into Voronoi cells around anchor
points whose district is known: the administrative centres, a few landmarks, every car park of
`assets/parking.geojson`, whose address names its district. Cells of one district are then
merged. Borders are rough (rivers and real borders are ignored); the pack's README says so.
Run: `.venv/bin/python packs/hanoi/tools/build_districts.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import shapely
from shapely.geometry import MultiPoint, Polygon, mapping

PACK = Path(__file__).resolve().parents[1]
OUT = PACK / "layers" / "districts-2008.geojson"
ASSETS = PACK / "assets" / "parking.geojson"

# Hand-drawn outline of the city, clockwise from the west (lon, lat), about 1 km accuracy.
OUTLINE = [
    (105.29, 21.10), (105.30, 21.19), (105.36, 21.25), (105.40, 21.30), (105.44, 21.24),
    (105.48, 21.18), (105.56, 21.17), (105.63, 21.18), (105.65, 21.24), (105.70, 21.25),
    (105.74, 21.24), (105.76, 21.30), (105.79, 21.38), (105.86, 21.38), (105.90, 21.34),
    (105.93, 21.29), (105.92, 21.20), (105.91, 21.12), (105.96, 21.09), (106.02, 21.05),
    (105.99, 21.00), (105.96, 20.96), (105.91, 20.97), (105.90, 20.90), (105.94, 20.80),
    (106.00, 20.68), (105.91, 20.66), (105.82, 20.66), (105.80, 20.60), (105.78, 20.56),
    (105.72, 20.58), (105.67, 20.62), (105.66, 20.72), (105.64, 20.83), (105.60, 20.84),
    (105.55, 20.81), (105.58, 20.93), (105.45, 20.97), (105.31, 21.02), (105.29, 21.10),
]

# GSO code, Vietnamese name, English name, type, admin-centre lat, lon, official km².
DISTRICTS = [
    ("001", "Ba Đình", "Ba Dinh", "quận", 21.0339, 105.8142, 9.25),
    ("002", "Hoàn Kiếm", "Hoan Kiem", "quận", 21.0239, 105.8421, 5.29),
    ("003", "Tây Hồ", "Tay Ho", "quận", 21.0695, 105.8108, 24.01),
    ("004", "Long Biên", "Long Bien", "quận", 21.0556, 105.8892, 59.93),
    ("005", "Cầu Giấy", "Cau Giay", "quận", 21.0315, 105.8003, 12.03),
    ("006", "Đống Đa", "Dong Da", "quận", 21.0164, 105.8288, 9.96),
    ("007", "Hai Bà Trưng", "Hai Ba Trung", "quận", 21.0102, 105.8496, 10.09),
    ("008", "Hoàng Mai", "Hoang Mai", "quận", 20.9681, 105.8491, 40.32),
    ("009", "Thanh Xuân", "Thanh Xuan", "quận", 20.9951, 105.8001, 9.08),
    ("016", "Sóc Sơn", "Soc Son", "huyện", 21.2574, 105.8479, 306.51),
    ("017", "Đông Anh", "Dong Anh", "huyện", 21.1392, 105.8488, 182.14),
    ("018", "Gia Lâm", "Gia Lam", "huyện", 21.0286, 105.9408, 114.73),
    ("019", "Nam Từ Liêm", "Nam Tu Liem", "quận", 21.0396, 105.7671, 32.27),
    ("020", "Thanh Trì", "Thanh Tri", "huyện", 20.9463, 105.8445, 62.93),
    ("021", "Bắc Từ Liêm", "Bac Tu Liem", "quận", 21.0421, 105.7536, 43.35),
    ("250", "Mê Linh", "Me Linh", "huyện", 21.1817, 105.7202, 142.51),
    ("268", "Hà Đông", "Ha Dong", "quận", 20.9646, 105.7710, 48.34),
    ("269", "Sơn Tây", "Son Tay", "thị xã", 21.1407, 105.5061, 113.53),
    ("271", "Ba Vì", "Ba Vi", "huyện", 21.1992, 105.4234, 424.03),
    ("272", "Phúc Thọ", "Phuc Tho", "huyện", 21.1042, 105.5455, 117.19),
    ("273", "Đan Phượng", "Dan Phuong", "huyện", 21.0831, 105.6725, 77.35),
    ("274", "Hoài Đức", "Hoai Duc", "huyện", 21.0661, 105.7076, 82.47),
    ("275", "Quốc Oai", "Quoc Oai", "huyện", 20.9901, 105.6410, 147.91),
    ("276", "Thạch Thất", "Thach That", "huyện", 21.0562, 105.5784, 184.59),
    ("277", "Chương Mỹ", "Chuong My", "huyện", 20.9238, 105.7024, 232.41),
    ("278", "Thanh Oai", "Thanh Oai", "huyện", 20.8525, 105.7691, 123.85),
    ("279", "Thường Tín", "Thuong Tin", "huyện", 20.8688, 105.8620, None),
    ("280", "Phú Xuyên", "Phu Xuyen", "huyện", 20.7443, 105.9120, None),
    ("281", "Ứng Hòa", "Ung Hoa", "huyện", 20.7355, 105.7714, None),
    ("282", "Mỹ Đức", "My Duc", "huyện", 20.6864, 105.7449, None),
]


def _round(geometry: shapely.Geometry) -> shapely.Geometry:
    return shapely.make_valid(shapely.set_precision(geometry, 1e-5))


# Places whose district is well known and that straight borders between the centres get
# wrong: (GSO code, lon, lat).
LANDMARKS = [
    ("006", 105.8370, 21.0276),  # Hồ Văn, in front of Văn Miếu - Quốc Tử Giám, Đống Đa
    ("003", 105.8366, 21.0478),  # Chùa Trấn Quốc, on West Lake by Thanh Niên road, Tây Hồ
    ("003", 105.8290, 21.0520),  # Thụy Khuê street, on the lake's south shore, Tây Hồ
]


def _anchors() -> list[tuple[str, shapely.Point]]:
    """Points of known district: administrative centres, landmarks, car parks by address."""
    by_name = {name: code for code, name, *_ in DISTRICTS}
    anchors = [(code, shapely.Point(lon, lat)) for code, _, _, _, lat, lon, _ in DISTRICTS]
    anchors += [(code, shapely.Point(lon, lat)) for code, lon, lat in LANDMARKS]
    for feature in json.loads(ASSETS.read_text(encoding="utf-8"))["features"]:
        district = feature["properties"]["address"].rsplit(", ", 1)[-1]
        anchors.append((by_name[district], shapely.Point(feature["geometry"]["coordinates"])))
    return anchors


def build() -> dict[str, object]:
    """The district layer as a GeoJSON FeatureCollection."""
    outline = Polygon(OUTLINE)
    anchors = _anchors()
    cells = shapely.voronoi_polygons(
        MultiPoint([point for _, point in anchors]), extend_to=outline.buffer(0.5)
    )
    pieces: dict[str, list[shapely.Geometry]] = {}
    for code, point in anchors:
        cell = next(c for c in cells.geoms if c.contains(point))
        pieces.setdefault(code, []).append(cell)
    features = []
    for code, name, name_en, kind, lat, lon, area in DISTRICTS:
        shape = _round(shapely.union_all(pieces[code]).intersection(outline))
        features.append({
            "type": "Feature",
            "id": code,
            "properties": {
                "code": code, "name": name, "name_en": name_en, "kind": kind,
                "centre_lon": lon, "centre_lat": lat, "area_km2": area,
            },
            "geometry": mapping(shape),
        })
    return {"type": "FeatureCollection", "features": features}


def layer_text() -> str:
    """The district layer file's exact content, so a test can check the file is not hand-edited."""
    return json.dumps(build(), ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(layer_text(), encoding="utf-8")
    print(f"wrote {OUT}")
