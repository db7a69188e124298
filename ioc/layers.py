"""The boundary layers an API process serves, each with its index, swapped whole on reload."""

from __future__ import annotations

from geo import AreaIndex, BoundaryLayer, CityPack, load_pack


class LayerSet:
    """Layers and their point-in-area indexes, built on first use.

    `reload` builds the new pack's layer and index completely before replacing the pair in
    one assignment, so a query in flight sees either the old layer or the new one, never half.
    """

    def __init__(self, pack: CityPack) -> None:
        self._pack = pack
        self._built: dict[str, tuple[BoundaryLayer, AreaIndex]] = {}

    @property
    def names(self) -> list[str]:
        """The layers of the pack as last read."""
        return self._pack.layer_names

    def get(self, name: str) -> tuple[BoundaryLayer, AreaIndex]:
        """A layer and its index (PackError for a layer the pack does not have)."""
        if name not in self._built:
            layer = self._pack.layer(name)
            self._built[name] = (layer, AreaIndex(layer))
        return self._built[name]

    def reload(self, name: str) -> tuple[BoundaryLayer, AreaIndex]:
        """Re-read a layer from the pack on disk and swap it in."""
        fresh = load_pack(self._pack.root)
        layer = fresh.layer(name)
        built = (layer, AreaIndex(layer))
        self._pack = fresh
        self._built[name] = built
        return built
