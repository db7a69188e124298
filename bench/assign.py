"""Point-in-area benchmark: AreaIndex.assign on millions of points, per layer and spread.

Points come as the feeds pass them, two lists of floats. "bbox": uniform over the bounding
box of the pack's districts (about half of them fall outside the city). "core": 90 % spread
normally around Hồ Hoàn Kiếm (σ 3 km: the inner districts), 10 % uniform over the bbox.
Each case runs three times on one index: the best run counts, the first (cold) is kept too.
The wards layer is the shared OSM file imported into a temporary copy of the pack; without
the file only the districts are measured.
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely

from bench.ingest import _machine
from geo import AreaIndex, BoundaryLayer, load_pack
from geo.importer import CODE_FROM_NAME, import_layer
from ioc.settings import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results"
PACK = PROJECT_ROOT / "packs" / "hanoi"
WARDS = PROJECT_ROOT.parent / "shared" / "data" / "hanoi" / "wards-2025-osm.geojson"
SIZES = (1_000_000, 5_000_000)
SPREADS = ("bbox", "core")
TARGET = 1_000_000  # points per second
CORE_LON, CORE_LAT, CORE_SIGMA_M = 105.8523, 21.0285, 3_000.0
REPEATS = 3


def _layers(
    districts: BoundaryLayer, scratch: Path
) -> Iterator[tuple[BoundaryLayer, float | None]]:
    """The districts, then the OSM wards if present, each with its import time."""
    yield districts, None
    if not WARDS.exists():
        print(f"wards: {WARDS} is missing, measured the districts only")
        return
    pack = Path(shutil.copytree(PACK, scratch / "hanoi"))
    t0 = time.perf_counter()
    imported = import_layer(WARDS, pack, "wards-2025", code_field=CODE_FROM_NAME,
                            name_field="name", name_en_field="name:en",
                            valid_from=date(2025, 7, 1))
    yield imported.layer, time.perf_counter() - t0


def _points(
    spread: str, size: int, bbox: tuple[float, float, float, float], seed: int
) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = bbox
    lons, lats = rng.uniform(minx, maxx, size), rng.uniform(miny, maxy, size)
    if spread == "core":
        core = rng.random(size) < 0.9
        m_per_deg_lon = 111_320.0 * math.cos(math.radians(CORE_LAT))
        lons[core] = rng.normal(CORE_LON, CORE_SIGMA_M / m_per_deg_lon, core.sum())
        lats[core] = rng.normal(CORE_LAT, CORE_SIGMA_M / 111_320.0, core.sum())
    return lons.tolist(), lats.tolist()


def _case(index: AreaIndex, spread: str, lons: list[float], lats: list[float]) -> dict[str, Any]:
    seconds = []
    for _ in range(REPEATS):
        index.outside_count = 0
        t0 = time.perf_counter()
        index.assign(lons, lats)
        seconds.append(time.perf_counter() - t0)
    best = min(seconds)
    return {
        "layer": index.layer.name, "spread": spread, "points": len(lons),
        "outside_share": round(index.outside_count / len(lons), 3),
        "first_s": round(seconds[0], 3), "best_s": round(best, 3),
        "points_per_s": round(len(lons) / best),
    }


def run(sizes: tuple[int, ...]) -> dict[str, Any]:
    """Measure every layer, spread and size, and return the figures."""
    districts = load_pack(PACK).layer("districts")
    # The same points for every layer: Hanoi's extent as its district layer draws it.
    minx, miny, maxx, maxy = shapely.total_bounds([u.geometry for u in districts.units])
    bbox = (float(minx), float(miny), float(maxx), float(maxy))
    layers, cases = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for layer, import_s in _layers(districts, Path(scratch)):
            t0 = time.perf_counter()
            index = AreaIndex(layer)
            layers.append({
                "layer": layer.name, "units": len(layer.units),
                "vertices": int(sum(shapely.get_num_coordinates(u.geometry) for u in layer.units)),
                "import_s": None if import_s is None else round(import_s, 3),
                "index_s": round(time.perf_counter() - t0, 3),
            })
            for spread in SPREADS:
                for seed, size in enumerate(sizes):
                    lons, lats = _points(spread, size, bbox, seed)
                    case = _case(index, spread, lons, lats)
                    cases.append(case)
                    print(f"{case['layer']:<11} {spread:<5} {size:>10,} points "
                          f"{case['points_per_s']:>11,} /s  (best {case['best_s']} s, "
                          f"first {case['first_s']} s, {case['outside_share']:.0%} outside)")
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "target_points_per_s": TARGET,
        "layers": layers,
        "cases": cases,
        # The target is for the district layer, the default aggregation unit.
        "meets_target": all(c["points_per_s"] >= TARGET for c in cases
                            if c["layer"] == "districts"),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES),
                        help="points per case (default: 1,000,000 and 5,000,000)")
    args = parser.parse_args()
    result = run(tuple(args.sizes))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "assign.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    verdict = "meets" if result["meets_target"] else "misses"
    print(f"districts {verdict} the target of {TARGET:,} points/s -> {path}")
