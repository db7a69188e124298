"""The live hub: one Redis subscription per process, fanned out to bounded client queues."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson
from redis.asyncio.client import PubSub

from ioc.bus import LiveMessage, RedisBus, parse_live

logger = logging.getLogger(__name__)

STREAMS = ("districts", "parking", "signals", "queues", "brt")


@dataclass(eq=False)
class LiveClient:
    """One connected client: what it follows, its bounded queue, and whether it fell behind."""

    streams: set[str]
    queue: asyncio.Queue[LiveMessage] = field(default_factory=lambda: asyncio.Queue(256))
    stale: set[str] = field(default_factory=set)
    overflows: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, message: LiveMessage) -> None:
        """Queue a delta without waiting; a full queue is dropped and a snapshot owed instead."""
        if message.stream not in self.streams:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # Deltas carry absolute values, so a fresh snapshot replaces the whole backlog.
            self.overflows += 1
            while not self.queue.empty():
                self.stale.add(self.queue.get_nowait().stream)
            self.stale.add(message.stream)
            self.wake.set()
            return
        self.wake.set()

    def mark_stale(self, streams: Iterable[str]) -> None:
        """Owe this client a fresh snapshot of `streams`."""
        self.stale.update(s for s in streams if s in self.streams)
        self.wake.set()


class LiveHub:
    """Receives live deltas from Redis and hands them to every interested client."""

    def __init__(self, bus: RedisBus) -> None:
        self._bus = bus
        self._clients: set[LiveClient] = set()
        self._task: asyncio.Task[None] | None = None
        self._last_seq: dict[str, int] = {}

    @property
    def client_count(self) -> int:
        """Clients connected to this process."""
        return len(self._clients)

    def connect(self, streams: Iterable[str]) -> LiveClient:
        """Register a client (before its snapshot is read, so no delta falls in between)."""
        client = LiveClient(set(streams))
        self._clients.add(client)
        return client

    def disconnect(self, client: LiveClient) -> None:
        """Forget a client."""
        self._clients.discard(client)

    async def start(self) -> None:
        """Subscribe to the live channel and start fanning out."""
        pubsub = self._bus.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self._bus.live_channel)
        self._task = asyncio.create_task(self._listen(pubsub), name="live-hub")

    async def stop(self) -> None:
        """Stop fanning out."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self, pubsub: PubSub) -> None:
        failures = 0
        while True:
            try:
                if failures:
                    await pubsub.subscribe(self._bus.live_channel)
                    # Whatever was published while we were away is gone: resnapshot everyone.
                    for client in self._clients:
                        client.mark_stale(STREAMS)
                    logger.info("live hub resubscribed after %d failures", failures)
                    failures = 0
                message = await pubsub.get_message(timeout=5.0)
                if message is not None:
                    self._dispatch(message["data"])
            except asyncio.CancelledError:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
                raise
            except (ConnectionError, OSError) as err:
                if failures == 0:
                    logger.warning("live hub lost Redis: %s", err)
                failures += 1
                await asyncio.sleep(min(10.0, 0.5 * 2 ** min(failures, 5)))

    def _dispatch(self, raw: bytes) -> None:
        try:
            message = parse_live(raw)
        except ValueError:
            logger.warning("live hub ignored a malformed message: %r", raw[:200])
            return
        previous = self._last_seq.get(message.stream)
        self._last_seq[message.stream] = message.seq
        if previous is not None and message.seq != previous + 1:
            for client in self._clients:
                client.mark_stale([message.stream])
        for client in self._clients:
            client.offer(message)


def delta_frame(message: LiveMessage) -> bytes:
    """The client-facing JSON of a delta: type, stream and seq around the published body."""
    return (
        b'{"type":"delta","stream":' + orjson.dumps(message.stream)
        + b',"seq":' + str(message.seq).encode() + b"," + message.body[1:]
    )
