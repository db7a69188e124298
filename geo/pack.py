"""City packs: a folder of data files that describes one city (layers, assets, targets)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from geo.layer import BoundaryLayer, load_layer


class PackError(ValueError):
    """A city pack that is missing or inconsistent."""


@dataclass(slots=True)
class CityPack:
    """One city's data, read from `pack.json` and the files it names."""

    root: Path
    manifest: dict[str, Any]
    _layers: dict[str, BoundaryLayer] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Short machine name of the city."""
        return str(self.manifest["name"])

    @property
    def title(self) -> dict[str, str]:
        """Display names by language."""
        return dict(self.manifest.get("title", {"en": self.name}))

    @property
    def timezone(self) -> str:
        """IANA time zone of the city."""
        return str(self.manifest.get("timezone", "UTC"))

    @property
    def centre(self) -> tuple[float, float]:
        """Map centre (lon, lat)."""
        lon, lat = self.manifest["centre"]
        return float(lon), float(lat)

    @property
    def zoom(self) -> float:
        """Map zoom that shows the whole city."""
        return float(self.manifest.get("zoom", 10))

    @property
    def default_layer(self) -> str:
        """The layer figures are aggregated on unless another is asked for."""
        return str(self.manifest["default_layer"])

    @property
    def layer_names(self) -> list[str]:
        """Every boundary layer in the pack."""
        return list(self.manifest.get("layers", {}))

    def layer(self, name: str) -> BoundaryLayer:
        """A boundary layer, read once and kept."""
        if name not in self._layers:
            spec = self.manifest.get("layers", {}).get(name)
            if spec is None:
                raise PackError(f"pack {self.name!r} has no layer {name!r}")
            self._layers[name] = load_layer(
                self.root / spec["file"],
                name,
                title=spec.get("title"),
                valid_from=_date(spec.get("valid_from")),
                valid_to=_date(spec.get("valid_to")),
                approximate=bool(spec.get("approximate", False)),
            )
        return self._layers[name]

    @property
    def gtfs_path(self) -> Path | None:
        """The city's GTFS static feed for its BRT line (a folder or zip), if it has one."""
        relative = self.manifest.get("gtfs")
        return None if relative is None else self.root / relative

    def asset_features(self, kind: str) -> list[dict[str, Any]]:
        """GeoJSON features of one kind of asset (e.g. "parking")."""
        relative = self.manifest.get("assets", {}).get(kind)
        if relative is None:
            raise PackError(f"pack {self.name!r} has no {kind!r} assets")
        document = _read_json(self.root / relative)
        features: list[dict[str, Any]] = document.get("features", [])
        return features


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise PackError(f"cannot read {path}: {err}") from err
    return data


def load_pack(root: Path) -> CityPack:
    """Read a city pack from its folder."""
    manifest = _read_json(root / "pack.json")
    for key in ("name", "centre", "default_layer", "layers"):
        if key not in manifest:
            raise PackError(f"{root / 'pack.json'} lacks {key!r}")
    return CityPack(root=root, manifest=manifest)
