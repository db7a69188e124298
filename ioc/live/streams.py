"""The live streams: how to snapshot each one, and how to split its bodies into objects.

Every published body is a JSON object. Its list-valued *sections* hold objects keyed by
`id` (car parks, signal units, desks, buses) or district figures keyed by `code`; a stream
whose body is one object (a situation change) names it with `single`. Splitting a body
into `Item`s lets the hub filter by district and position, coalesce by object, and
aggregate for low zooms without knowing any feed.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from geo import BoundaryLayer
from ioc.snapshots import (
    brt_snapshot,
    districts_snapshot,
    parking_snapshot,
    queues_snapshot,
    signals_snapshot,
)

# A stream's snapshot from the pool, the layer and the city clock's now.
Snapshot = Callable[[AsyncConnectionPool, BoundaryLayer, datetime], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Summary:
    """What an aggregate cell adds up for one stream: numeric fields, and a category count."""

    sums: tuple[str, ...] = ()
    by: str | None = None


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One live stream.

    `objects` and `areas` name the body's sections of objects (keyed by `id`) and of district
    figures (keyed by `code`). `single` names the one object of a single-object body; its
    other top-level fields (e.g. `change`) travel with it. `asset_kind` is the pack's asset
    catalogue that places objects whose body carries no `lon`/`lat`. `gone` says when an
    object leaves the live state. `lod` is False for streams whose every object matters at
    any zoom (they are never clustered).
    """

    name: str
    snapshot: Snapshot
    objects: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    single: str | None = None
    asset_kind: str | None = None
    summary: Summary = field(default_factory=Summary)
    gone: Callable[[Mapping[str, Any]], bool] | None = None
    lod: bool = True

    @property
    def sections(self) -> tuple[str, ...]:
        """Every list section a snapshot or a coalesced delta of this stream carries."""
        return (*self.areas, *self.objects)


@dataclass(slots=True)
class Item:
    """One object (or one district's figures) out of a live body, placed when possible."""

    section: str
    key: str
    district: str | None
    lon: float | None
    lat: float | None
    value: dict[str, Any]
    area: bool = False


def _situations_snapshot() -> Snapshot:
    # Imported late: the situations package imports the bus, and is optional for the hub.
    module = importlib.import_module("ioc.situations.live")
    take: Callable[[AsyncConnectionPool], Awaitable[dict[str, Any]]] = module.situations_snapshot

    async def snapshot(
        pool: AsyncConnectionPool, layer: BoundaryLayer, now: datetime
    ) -> dict[str, Any]:
        return await take(pool)

    return snapshot


async def _districts(
    pool: AsyncConnectionPool, layer: BoundaryLayer, now: datetime
) -> dict[str, Any]:
    return await districts_snapshot(pool, layer)


async def _brt(pool: AsyncConnectionPool, layer: BoundaryLayer, now: datetime) -> dict[str, Any]:
    return await brt_snapshot(pool, now)


def _pool_only(
    take: Callable[[AsyncConnectionPool], Awaitable[dict[str, Any]]],
) -> Snapshot:
    async def snapshot(
        pool: AsyncConnectionPool, layer: BoundaryLayer, now: datetime
    ) -> dict[str, Any]:
        return await take(pool)

    return snapshot


def _situation_gone(situation: Mapping[str, Any]) -> bool:
    return situation.get("status") == "closed"


def registry() -> dict[str, StreamSpec]:
    """Every live stream by name, in the order snapshots are sent."""
    specs = [
        StreamSpec("districts", _districts, areas=("districts",)),
        StreamSpec("parking", _pool_only(parking_snapshot), objects=("sites",),
                   asset_kind="parking",
                   summary=Summary(sums=("capacity", "occupied"), by="status")),
        StreamSpec("signals", _pool_only(signals_snapshot), objects=("units",),
                   areas=("districts",), asset_kind="signals", summary=Summary(by="state")),
        StreamSpec("queues", _pool_only(queues_snapshot), objects=("points",),
                   areas=("districts",), asset_kind="service_points",
                   summary=Summary(sums=("waiting", "counters_open"))),
        StreamSpec("brt", _brt, objects=("vehicles",),
                   summary=Summary(by="status")),
        StreamSpec("situations", _situations_snapshot(), objects=("situations",),
                   single="situation", summary=Summary(by="severity"),
                   gone=_situation_gone, lod=False),
    ]
    return {spec.name: spec for spec in specs}


@dataclass(slots=True)
class Places:
    """Where things are: catalogue positions by asset kind, and the districts' bounds."""

    assets: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    bounds: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    centres: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def build(
        cls, layer: BoundaryLayer, catalogues: Mapping[str, Iterable[Mapping[str, Any]]]
    ) -> Places:
        """Index the pack's asset features by id, and the layer's units by code."""
        assets = {
            kind: {
                str(f["properties"]["id"]): (float(f["geometry"]["coordinates"][0]),
                                             float(f["geometry"]["coordinates"][1]))
                for f in features
                if f.get("geometry", {}).get("type") == "Point"
            }
            for kind, features in catalogues.items()
        }
        bounds: dict[str, tuple[float, float, float, float]] = {}
        centres: dict[str, tuple[float, float]] = {}
        for unit in layer.units:
            west, south, east, north = unit.geometry.bounds
            bounds[unit.code] = (west, south, east, north)
            if unit.admin_centre is not None:
                centres[unit.code] = unit.admin_centre
            else:
                point = unit.geometry.representative_point()
                centres[unit.code] = (point.x, point.y)
        return cls(assets, bounds, centres)

    def place(self, spec: StreamSpec, key: str, value: Mapping[str, Any]) -> tuple[
        float | None, float | None
    ]:
        """An object's position: from its body when it has one, else from the catalogue."""
        lon, lat = value.get("lon"), value.get("lat")
        if isinstance(lon, int | float) and isinstance(lat, int | float):
            return float(lon), float(lat)
        if spec.asset_kind is not None:
            known = self.assets.get(spec.asset_kind, {}).get(key)
            if known is not None:
                return known
        return None, None


def split(spec: StreamSpec, body: Mapping[str, Any], places: Places) -> tuple[
    list[Item], dict[str, Any]
]:
    """The items of a body, and its other top-level fields (kept beside single objects).

    A single-object stream's delta names its object; its snapshot (and a coalesced delta)
    carries the list sections instead, split like any other stream's.
    """
    items: list[Item] = []
    extras: dict[str, Any] = {}
    if spec.single is not None and spec.single in body:
        obj = body.get(spec.single)
        if isinstance(obj, dict) and "id" in obj:
            items.append(_object(spec, spec.objects[0], obj, places))
        extras = {k: v for k, v in body.items() if k != spec.single}
        return items, extras
    for section in spec.areas:
        for figures in _list(body.get(section)):
            code = figures.get("code")
            if isinstance(code, str):
                items.append(Item(section, code, code, None, None, figures, area=True))
    for section in spec.objects:
        for obj in _list(body.get(section)):
            if "id" in obj:
                items.append(_object(spec, section, obj, places))
    return items, extras


def _object(spec: StreamSpec, section: str, obj: dict[str, Any], places: Places) -> Item:
    key = str(obj["id"])
    lon, lat = places.place(spec, key, obj)
    district = obj.get("district")
    return Item(section, key, district if isinstance(district, str) else None, lon, lat, obj)


def _list(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, dict)]
