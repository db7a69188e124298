"""The shipped district layer is exactly what its generator in the pack produces."""

from __future__ import annotations

import importlib.util

from ioc.settings import PROJECT_ROOT

TOOLS = PROJECT_ROOT / "packs" / "hanoi" / "tools"


def test_the_district_layer_is_regenerated_byte_for_byte_by_its_tool() -> None:
    spec = importlib.util.spec_from_file_location("build_districts", TOOLS / "build_districts.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    shipped = (PROJECT_ROOT / "packs" / "hanoi" / "layers" / "districts-2008.geojson").read_text(
        encoding="utf-8"
    )
    assert tool.layer_text() == shipped
