"""Importing a boundary file into a city pack: a normalized layer file, registered in pack.json.

The layer file is GeoJSON in WGS84, one feature per line, sorted by code, with the
properties `code`, `name`, `name_en` and `kind` (and `centre_lon`, `centre_lat`, `area_km2`
when the source has them), coordinates snapped to 6 decimals (about 0.1 m).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyogrio
import shapely

from geo.layer import AreaUnit, BoundaryLayer, LayerError, load_layer
from geo.pack import load_pack

# Pass as `code_field` when the source has no codes (OSM wards): see `code_from_name`.
CODE_FROM_NAME = "@name"
# Snapping (not plain rounding) keeps polygons valid at the precision they are written at.
_GRID = 1e-6
_LAYER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True, slots=True)
class ImportedLayer:
    """What an import did: the layer as the pack now loads it, its file, the repairs made."""

    layer: BoundaryLayer
    path: Path
    repairs: tuple[str, ...]
    replaced: bool

    @property
    def units(self) -> int:
        """How many units the layer has."""
        return len(self.layer.units)


def code_from_name(name: str) -> str:
    """A unit code made from its name: ASCII, lower case, words joined by "-"."""
    # NFD splits the Vietnamese tone and vowel marks off their letters; đ has no such split.
    decomposed = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def import_layer(
    source: Path,
    pack_root: Path,
    name: str,
    *,
    code_field: str,
    name_field: str,
    name_en_field: str | None = None,
    kind_field: str | None = None,
    title: dict[str, str] | None = None,
    valid_from: date | None = None,
    valid_to: date | None = None,
    code_prefix: str = "",
) -> ImportedLayer:
    """Write `source` as `layers/<name>.geojson` of the pack and register it in pack.json.

    `code_field=CODE_FROM_NAME` makes each code from the unit's own name (`code_from_name`),
    so a code changes only when that unit is renamed, never when others are added or removed.
    Re-importing a name replaces its entry in place; nothing else in pack.json changes.
    """
    if not _LAYER_NAME.fullmatch(name):
        raise LayerError(f"layer name {name!r} must be letters, digits, '.', '_' or '-'")
    relative = f"layers/{name}.geojson"
    # A broken pack, or a file another layer uses, fails here, before anything is written.
    for other, spec in load_pack(pack_root).manifest["layers"].items():
        if other != name and Path(spec["file"]) == Path(relative):
            raise LayerError(f"{relative} already belongs to layer {other!r}")
    derive = code_field == CODE_FROM_NAME
    read = load_layer(
        source, name, code_field=name_field if derive else code_field, name_field=name_field,
        name_en_field=name_en_field, kind_field=kind_field,
    )
    _require_fields(source, [f for f in (name_en_field, kind_field) if f is not None])
    codes = _names_as_codes(read.units) if derive else [u.code for u in read.units]
    units = sorted(
        (_snapped(unit, code_prefix + code) for unit, code in zip(read.units, codes, strict=True)),
        key=lambda u: u.code,
    )
    entry: dict[str, Any] = {"file": relative, "title": title or {"en": name}}
    if valid_from is not None:
        entry["valid_from"] = valid_from.isoformat()
    if valid_to is not None:
        entry["valid_to"] = valid_to.isoformat()
    entry["approximate"] = False
    _write(pack_root / relative, _layer_text(units))
    replaced = _register(pack_root / "pack.json", name, entry)
    return ImportedLayer(
        layer=load_pack(pack_root).layer(name), path=pack_root / relative,
        repairs=read.repaired, replaced=replaced,
    )


def _require_fields(source: Path, fields: list[str]) -> None:
    # load_layer checks the code and name fields; optional ones it would silently default.
    present = [str(f) for f in pyogrio.read_info(source)["fields"]]
    for wanted in fields:
        if wanted not in present:
            raise LayerError(f"{source} has no field {wanted!r}; fields are {sorted(present)}")


def _names_as_codes(units: tuple[AreaUnit, ...]) -> list[str]:
    names_by_code: dict[str, str] = {}
    for unit in units:
        code = code_from_name(unit.name)
        if not code or code in names_by_code:
            clash = f", as does {names_by_code[code]!r}" if code else ""
            raise LayerError(f"cannot make a distinct code from {unit.name!r}: {code!r}{clash}")
        names_by_code[code] = unit.name
    return list(names_by_code)


def _snapped(unit: AreaUnit, code: str) -> AreaUnit:
    geometry = shapely.set_precision(unit.geometry, _GRID)
    if geometry.is_empty:
        raise LayerError(f"unit {code!r} vanishes at {_GRID} degree precision")
    return dataclasses.replace(unit, code=code, geometry=geometry)


def _layer_text(units: list[AreaUnit]) -> str:
    features = []
    for unit in units:
        properties: dict[str, Any] = {
            "code": unit.code, "name": unit.name, "name_en": unit.name_en, "kind": unit.kind,
        }
        if unit.admin_centre is not None:
            properties["centre_lon"], properties["centre_lat"] = unit.admin_centre
        if unit.area_km2 is not None:
            properties["area_km2"] = unit.area_km2
        feature = {"type": "Feature", "id": unit.code, "properties": properties,
                   "geometry": shapely.geometry.mapping(unit.geometry)}
        features.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    # One feature a line: small files, and a re-import diffs unit by unit.
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(features) + "\n]}\n"


def _register(manifest: Path, name: str, entry: dict[str, Any]) -> bool:
    text = manifest.read_text(encoding="utf-8")
    layers: dict[str, Any] = json.loads(text)["layers"]
    replaced = name in layers
    layers[name] = entry  # a replaced entry keeps its place
    # Only the "layers" value is rewritten, so the rest of the file stays byte for byte.
    start, end = next((s, e) for key, s, e in _members(text) if key == "layers")
    _write(manifest, text[:start] + _format(layers, 1) + text[end:])
    return replaced


def _members(text: str) -> Iterator[tuple[str, int, int]]:
    """Each top-level key of a JSON object's text, with where its value starts and ends."""
    decoder = json.JSONDecoder()
    at = _skip_space(text, text.index("{") + 1)
    while text[at] == '"':
        key, at = decoder.raw_decode(text, at)
        start = _skip_space(text, _skip_space(text, at) + 1)  # past the colon
        _, end = decoder.raw_decode(text, start)
        yield key, start, end
        at = _skip_space(text, end)
        if text[at] == ",":
            at = _skip_space(text, at + 1)


def _skip_space(text: str, at: int) -> int:
    while text[at] in " \t\n\r":
        at += 1
    return at


def _format(value: Any, level: int) -> str:
    """JSON as pack.json is written: 2-space indents, lists and objects of plain values inline."""
    pad, close = "  " * (level + 1), "  " * level
    if isinstance(value, dict) and any(isinstance(v, dict | list) for v in value.values()):
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {_format(v, level + 1)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{close}}}"
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        return "[\n" + ",\n".join(pad + _format(v, level + 1) for v in value) + f"\n{close}]"
    return json.dumps(value, ensure_ascii=False)


def _write(path: Path, text: str) -> None:
    # Through a temporary file and a rename, so a running centre never reads half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
