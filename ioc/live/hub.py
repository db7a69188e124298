"""The live hub: one Redis subscription per process, fanned out to every client's outbox.

Deltas are applied to the process's live state (one StreamModel per stream), matched once
per distinct subscription filter, encoded once per filter, and offered to each member's
outbox without waiting. Sequence numbers come from Redis, so every API process numbers the
same delta alike; a gap in what pub/sub delivered is filled from the retained log in Redis,
or, past its window, by reloading the stream and sending its subscribers a fresh snapshot.
The hub's tasks (listener, aggregates, watchdog) are supervised: one that raises is logged,
counted and restarted with backoff, and a restarted listener reloads every stream the same
way rather than trust the state a failed delta left half-applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
import redis.exceptions
import shapely
from psycopg_pool import AsyncConnectionPool
from redis.asyncio.client import PubSub
from shapely.geometry.base import BaseGeometry

from feeds.clock import Clock
from geo import BoundaryLayer, CityPack, PackError
from ioc.bus import LiveMessage, RedisBus, parse_live
from ioc.layers import LayerSet
from ioc.live import protocol
from ioc.live.client import LiveClient, SnapshotEntry, Subscription
from ioc.live.lod import Level, aggregate, cells_in_view
from ioc.live.model import StreamModel
from ioc.live.resume import read_range
from ioc.live.streams import Item, Places, StreamSpec, registry, split
from ioc.live.subscriptions import Filter, ItemIndex, Matcher
from ioc.settings import LiveSettings
from ioc.supervise import Supervisor, TaskState

logger = logging.getLogger(__name__)

# The hub's supervised tasks.
LISTENER, AGGREGATES, WATCHDOG = "live-hub", "live-aggregates", "live-watchdog"


class LiveDeltaError(RuntimeError):
    """A live delta that the hub could not apply or hand out."""


@dataclass(slots=True)
class Delta:
    """One published delta, split into items once for every subscriber."""

    stream: str
    seq: int
    body: bytes
    items: list[Item]
    extras: dict[str, Any]
    _index: ItemIndex | None = None

    @property
    def index(self) -> ItemIndex:
        """The items as arrays, built on first use and shared by every filter group."""
        if self._index is None:
            self._index = ItemIndex(self.items)
        return self._index


class Shared:
    """A delta as one filter group sees it, its frame tail encoded once for all members."""

    __slots__ = ("_tail", "delta", "items", "whole")

    def __init__(self, delta: Delta, items: list[Item], whole: bool) -> None:
        self.delta = delta
        self.items = items
        self.whole = whole
        self._tail: bytes | None = None

    def tail(self) -> bytes:
        """The frame after its head: the published body when whole, else the matched part."""
        if self._tail is None:
            d = self.delta
            if self.whole:
                body = d.body
            else:
                sections: dict[str, list[dict[str, Any]]] = {}
                for item in self.items:
                    sections.setdefault(item.section, []).append(item.value)
                body = orjson.dumps({**sections, **d.extras})
            self._tail = protocol.tail(d.stream, d.seq, body)
        return self._tail


@dataclass(eq=False, slots=True)
class Group:
    """Every subscription with one filter: matched and encoded once per delta."""

    filter: Filter
    matcher: Matcher
    members: dict[Subscription, None] = field(default_factory=dict)
    last_aggregate: dict[str, bytes] = field(default_factory=dict)
    snapshots: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    def detailed(self, spec: StreamSpec) -> bool:
        """Whether this group receives the stream's objects (else aggregates)."""
        return not spec.lod or self.filter.level is Level.POINTS

    def match(self, spec: StreamSpec, delta: Delta) -> Shared | None:
        """This group's part of a delta, or None when nothing in it concerns the group."""
        items = self.matcher.select(delta.index, with_objects=self.detailed(spec))
        if not items:
            return None
        return Shared(delta, items, len(items) == len(delta.items))


@dataclass(slots=True)
class Counters:
    """What this process has done since it started."""

    deltas: int = 0
    gaps_filled: int = 0
    resyncs: int = 0
    slow_disconnects: int = 0
    coalesced: int = 0
    # Frames written to clients that have gone; those still connected count their own.
    frames_of_gone: int = 0


class LiveHub:
    """Receives live deltas from Redis and hands them to every interested subscription."""

    def __init__(
        self, bus: RedisBus, pool: AsyncConnectionPool, layer: BoundaryLayer, places: Places,
        resolve_areas: Callable[[str, frozenset[str]], BaseGeometry], settings: LiveSettings,
        clock: Clock,
    ) -> None:
        self.bus = bus
        self.settings = settings
        self.clock = clock
        self.places = places
        self.specs = registry()
        self.models = {name: StreamModel(spec) for name, spec in self.specs.items()}
        self.clients: set[LiveClient] = set()
        self.counters = Counters()
        self._pool = pool
        self._layer = layer
        self._resolve_areas = resolve_areas
        self._groups: dict[Filter, Group] = {}
        self._by_stream: dict[str, dict[Group, None]] = {name: {} for name in self.specs}
        self._aggregated: dict[str, int] = {}
        self.supervisor = Supervisor(asyncio.Event())
        self._pubsub: PubSub | None = None

    @property
    def client_count(self) -> int:
        """Clients connected to this process."""
        return len(self.clients)

    @property
    def frames_sent(self) -> int:
        """Frames written to clients since the process started."""
        return self.counters.frames_of_gone + sum(c.sent_frames for c in self.clients)

    @property
    def tasks(self) -> list[TaskState]:
        """The hub's supervised tasks and their state."""
        return list(self.supervisor.tasks.values())

    @property
    def streams(self) -> list[str]:
        """Every stream's name."""
        return list(self.specs)

    async def start(self) -> None:
        """Subscribe to the live channel, load every stream's state, start fanning out."""
        pubsub = self.bus.redis.pubsub(ignore_subscribe_messages=True)
        # Subscribed first: deltas published while the state loads wait in the connection.
        await pubsub.subscribe(self.bus.live_channel)
        for name in self.specs:
            await self._reload(name)
        # Everything allocated so far (the app, the city pack, the live state) lives as long
        # as the process: leaving it out of the cyclic collector's full passes shortens them
        # from hundreds of milliseconds, a stall for every client, to what came later.
        gc.freeze()
        self._pubsub = pubsub
        self.supervisor.spawn(LISTENER, lambda: self._listen(pubsub))
        self.supervisor.spawn(AGGREGATES, self._aggregate_loop)
        self.supervisor.spawn(WATCHDOG, self._watchdog)

    async def stop(self) -> None:
        """Stop fanning out."""
        await self.supervisor.cancel()
        if self._pubsub is not None:
            with contextlib.suppress(ConnectionError, OSError, redis.exceptions.RedisError):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    # ---- clients and subscriptions ----

    def connect(self, principal: str = "") -> LiveClient:
        """Register a new connection."""
        client = LiveClient(self.settings.queue_frames, principal)
        self.clients.add(client)
        return client

    def disconnect(self, client: LiveClient) -> None:
        """Forget a connection and its subscriptions."""
        for sub in list(client.subscriptions.values()):
            self.unsubscribe(sub)
        if client in self.clients:
            self.clients.discard(client)
            self.counters.frames_of_gone += client.sent_frames

    def subscribe(self, client: LiveClient, sub_id: str, spec: Filter) -> Subscription:
        """Add (or replace) a subscription; its snapshots or replays are the caller's to queue."""
        old = client.subscriptions.get(sub_id)
        if old is not None:
            self.unsubscribe(old)
        group = self._groups.get(spec)
        if group is None:
            group = Group(spec, Matcher(spec, self.places, self._resolve_areas))
            self._groups[spec] = group
            for stream in spec.streams:
                self._by_stream[stream][group] = None
        sub = Subscription(client, sub_id, spec, group)
        group.members[sub] = None
        client.subscriptions[sub_id] = sub
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Remove a subscription; what is queued for it is dropped when reached."""
        sub.active = False
        sub.client.subscriptions.pop(sub.id, None)
        group = sub.group
        if group is None:
            return
        group.members.pop(sub, None)
        if not group.members:
            del self._groups[group.filter]
            for stream in group.filter.streams:
                self._by_stream[stream].pop(group, None)

    # ---- frames taken from the live state ----

    def snapshot_frame(self, sub: Subscription, stream: str, reason: str | None) -> bytes:
        """A snapshot of `stream` as `sub` sees it, at the state's current seq (sets `sent`)."""
        group = sub.group
        assert group is not None
        model = self.models[stream]
        spec = self.specs[stream]
        cached = group.snapshots.get(stream)
        if cached is None or cached[0] != model.version:
            items = group.matcher.select(list(model), with_objects=group.detailed(spec))
            extra = {} if group.detailed(spec) else {"level": group.filter.level.value}
            body = orjson.dumps({**model.body(items), **extra})
            cached = (model.version, protocol.tail(stream, model.seq, body))
            group.snapshots[stream] = cached
        sub.sent[stream] = model.seq
        tail = cached[1]
        if reason is not None:
            tail = tail[:-1] + b',"reason":' + orjson.dumps(reason) + b"}"
        return protocol.head("snapshot", sub.id) + tail

    def aggregate_body(self, group: Group, stream: str) -> bytes:
        """The aggregates of `stream` in a low-zoom group's view, as a JSON object."""
        f = group.filter
        assert f.bbox is not None and f.zoom is not None
        model = self.models[stream]
        spec = self.specs[stream]
        attributes = (f.districts, f.areas, f.severities, f.statuses)
        items = list(model)
        if any(a is not None for a in attributes):
            items = group.matcher.select(items)
        cells = cells_in_view(aggregate(items, spec.summary, f.level, f.zoom, self.places),
                              f.level, f.bbox, self.places)
        return orjson.dumps({"level": f.level.value, "cells": cells})

    def aggregate_frame(self, sub: Subscription, stream: str) -> bytes:
        """An `aggregate` frame of `stream` for a low-zoom subscription."""
        group = sub.group
        assert group is not None
        body = self.aggregate_body(group, stream)
        group.last_aggregate[stream] = body
        return protocol.head("aggregate", sub.id) + protocol.tail(
            stream, self.models[stream].seq, body)

    def lod_streams(self, sub: Subscription) -> list[str]:
        """The streams a subscription receives as aggregates."""
        group = sub.group
        assert group is not None
        return [s for s in sorted(sub.filter.streams) if not group.detailed(self.specs[s])]

    async def replay(self, sub: Subscription, stream: str, after: int) -> list[bytes] | None:
        """Frames of what `sub` missed on `stream` since `after` (None: past the window)."""
        model = self.models[stream]
        upto = model.seq
        if after > upto:
            # Another process may be ahead of this one; a seq Redis never gave is not resumed.
            if after > await self.bus.current_seq(stream):
                return None
            sub.sent[stream] = after
            return []
        messages = await read_range(self.bus, stream, after, upto)
        if messages is None:
            return None
        group = sub.group
        assert group is not None
        spec = self.specs[stream]
        frames = []
        for message in messages:
            shared = group.match(spec, self._split(message))
            if shared is not None:
                frames.append(sub.delta_head + shared.tail())
        sub.sent[stream] = max(sub.sent.get(stream, 0), upto)
        return frames

    # ---- Redis side ----

    def _split(self, message: LiveMessage) -> Delta:
        spec = self.specs[message.stream]
        try:
            body = orjson.loads(message.body)
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            logger.warning("live delta %s/%d is not a JSON object", message.stream, message.seq)
            return Delta(message.stream, message.seq, b"{}", [], {})
        items, extras = split(spec, body, self.places)
        return Delta(message.stream, message.seq, message.body, items, extras)

    async def _reload(self, stream: str) -> None:
        spec = self.specs[stream]
        # The seq is read before the query: deltas after it are applied again on top, which
        # their absolute values make harmless.
        seq = await self.bus.current_seq(stream)
        try:
            body = await spec.snapshot(self._pool, self._layer, self.clock.now())
        except (psycopg.Error, OSError) as err:
            logger.warning("live stream %s starts empty: its snapshot failed: %s", stream, err)
            body = {}
        items, _ = split(spec, body, self.places)
        self.models[stream].reset(seq, items)

    async def _listen(self, pubsub: PubSub) -> None:
        if self.supervisor.tasks[LISTENER].restarts:
            # The run before failed part-way through a delta: rather than trust what it
            # left, every stream is taken again and its subscribers get fresh snapshots.
            for stream in self.specs:
                await self._resync(stream)
        failures = 0
        while True:
            try:
                if failures:
                    await pubsub.subscribe(self.bus.live_channel)
                    logger.info("live hub resubscribed after %d failures", failures)
                    failures = 0
                    await self._catch_up()
                message = await pubsub.get_message(timeout=5.0)
                if message is not None:
                    await self._receive(message["data"])
                    # Let the senders run between deltas, so a burst does not fill queues.
                    await asyncio.sleep(0)
            except (ConnectionError, OSError, redis.exceptions.ConnectionError,
                    redis.exceptions.TimeoutError) as err:
                if failures == 0:
                    logger.warning("live hub lost Redis: %s", err)
                failures += 1
                await asyncio.sleep(min(10.0, 0.5 * 2 ** min(failures, 5)))

    async def _catch_up(self) -> None:
        """After a lost subscription: take whatever was published meanwhile."""
        for stream, model in self.models.items():
            current = await self.bus.current_seq(stream)
            if current > model.seq:
                await self._fill(stream, current)

    async def _receive(self, raw: bytes) -> None:
        try:
            message = parse_live(raw)
        except ValueError:
            logger.warning("live hub ignored a malformed message: %r", raw[:200])
            return
        model = self.models.get(message.stream)
        if model is None or message.seq <= model.seq:
            return
        if message.seq > model.seq + 1:
            await self._fill(message.stream, message.seq - 1)
            if message.seq <= model.seq:
                return
        self._apply(message)

    def _apply(self, message: LiveMessage) -> None:
        try:
            self.dispatch(self._split(message))
        except Exception as err:
            raise LiveDeltaError(
                f"live delta {message.stream}/{message.seq} could not be applied "
                f"({type(err).__name__}: {err}): {message.body[:300]!r}") from err

    async def _fill(self, stream: str, upto: int) -> None:
        model = self.models[stream]
        missed = await read_range(self.bus, stream, model.seq, upto)
        if missed is not None:
            self.counters.gaps_filled += 1
            for message in missed:
                self._apply(message)
            return
        logger.warning("live stream %s lost deltas past the retained window; reloading", stream)
        await self._resync(stream)

    async def _resync(self, stream: str) -> None:
        """Reload a stream from the store and queue its subscribers a fresh snapshot."""
        self.counters.resyncs += 1
        await self._reload(stream)
        for group in self._by_stream[stream]:
            for sub in group.members:
                sub.sent.pop(stream, None)
                if not group.detailed(self.specs[stream]):
                    continue
                if not sub.client.push(SnapshotEntry(sub, stream, "resync")):
                    self.kick(sub.client, "too far behind to resynchronise")

    def dispatch(self, delta: Delta) -> None:
        """Apply a delta to the live state and offer it to every subscription it concerns."""
        spec = self.specs[delta.stream]
        self.models[delta.stream].apply(delta.seq, delta.items)
        self.counters.deltas += 1
        for group in self._by_stream[delta.stream]:
            shared = group.match(spec, delta)
            if shared is None:
                continue
            for sub in group.members:
                sub.client.offer_delta(sub, shared)

    # ---- periodic work ----

    async def _aggregate_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.aggregate_interval_s)
            self.push_aggregates()

    def push_aggregates(self, force: bool = False) -> None:
        """Send changed aggregates to every low-zoom subscription."""
        for stream, model in self.models.items():
            if not force and self._aggregated.get(stream) == model.version:
                continue
            self._aggregated[stream] = model.version
            spec = self.specs[stream]
            for group in self._by_stream[stream]:
                if group.detailed(spec):
                    continue
                body = self.aggregate_body(group, stream)
                if group.last_aggregate.get(stream) == body and not force:
                    continue
                group.last_aggregate[stream] = body
                tail = protocol.tail(stream, model.seq, body)
                for sub in group.members:
                    sub.client.offer_aggregate(sub, stream, protocol.head("aggregate", sub.id)
                                               + tail)

    async def _watchdog(self) -> None:
        period = min(1.0, self.settings.slow_client_s / 4)
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for client in list(self.clients):
                if client.kicked is None and client.lag(now) > self.settings.slow_client_s:
                    self.kick(client, f"client too slow: behind for more than "
                                      f"{self.settings.slow_client_s:g} s")

    def kick(self, client: LiveClient, reason: str) -> None:
        """Mark a client for disconnection; its session closes it with CLOSE_TOO_SLOW."""
        if client.kicked is None:
            client.kicked = reason
            self.counters.slow_disconnects += 1
            client.wake.set()
            client.closing.set()

    def stats(self) -> dict[str, Any]:
        """This process's view: clients, subscriptions, streams and counters."""
        behind = sum(1 for c in self.clients if c.behind_since is not None)
        return {
            "clients": len(self.clients),
            "clients_behind": behind,
            "subscriptions": sum(len(c.subscriptions) for c in self.clients),
            "filters": len(self._groups),
            "streams": {name: {"seq": m.seq, "objects": len(m.items)}
                        for name, m in self.models.items()},
            "deltas": self.counters.deltas,
            "gaps_filled": self.counters.gaps_filled,
            "resyncs": self.counters.resyncs,
            "slow_disconnects": self.counters.slow_disconnects,
            "coalesced": self.counters.coalesced,
            "limits": self.limits(),
        }

    def limits(self) -> dict[str, Any]:
        """The limits a client is told in `hello`."""
        s = self.settings
        return {"queue_frames": s.queue_frames, "slow_client_s": s.slow_client_s,
                "heartbeat_s": s.heartbeat_s, "max_subscriptions": s.max_subscriptions,
                "max_message_bytes": s.max_message_bytes,
                "retained_deltas": self.bus.live_retention,
                "aggregate_interval_s": s.aggregate_interval_s}


def resolver(
    layers: Callable[[str], BoundaryLayer],
) -> Callable[[str, frozenset[str]], BaseGeometry]:
    """Union of the named units of a layer (ProtocolError for an unknown layer or code)."""

    def resolve(layer_name: str, codes: frozenset[str]) -> BaseGeometry:
        try:
            layer = layers(layer_name)
        except PackError as err:
            raise protocol.ProtocolError(protocol.Code.BAD_FILTER,
                                         f"no layer {layer_name!r}") from err
        units = {unit.code: unit for unit in layer.units}
        missing = sorted(codes - set(units))
        if missing:
            raise protocol.ProtocolError(protocol.Code.BAD_FILTER,
                                         f"layer {layer_name!r} has no units {missing[:10]}")
        geometry: BaseGeometry = shapely.union_all([units[c].geometry for c in sorted(codes)])
        return geometry

    return resolve


def catalogues(features: Callable[[str], Sequence[Mapping[str, Any]]],
               kinds: Sequence[str]) -> dict[str, Sequence[Mapping[str, Any]]]:
    """The pack's asset catalogues of `kinds` that exist."""
    out: dict[str, Sequence[Mapping[str, Any]]] = {}
    for kind in kinds:
        try:
            out[kind] = features(kind)
        except PackError:
            logger.info("the pack has no %s assets to place live objects with", kind)
    return out


def build_hub(
    bus: RedisBus, pool: AsyncConnectionPool, pack: CityPack, layers: LayerSet,
    settings: LiveSettings, clock: Clock,
) -> LiveHub:
    """The hub of an API process, placing objects with the pack's assets and default layer."""
    layer = pack.layer(pack.default_layer)
    kinds = [spec.asset_kind for spec in registry().values() if spec.asset_kind is not None]
    places = Places.build(layer, catalogues(pack.asset_features, kinds))
    return LiveHub(bus, pool, layer, places, resolver(lambda name: layers.get(name)[0]),
                   settings, clock)
