"""The spatial layer: boundary layers, the point-in-area index, and city packs."""

from geo.index import AreaIndex
from geo.layer import AreaUnit, BoundaryLayer, LayerError, load_layer
from geo.pack import CityPack, PackError, load_pack

__all__ = [
    "AreaIndex",
    "AreaUnit",
    "BoundaryLayer",
    "CityPack",
    "LayerError",
    "PackError",
    "load_layer",
    "load_pack",
]
