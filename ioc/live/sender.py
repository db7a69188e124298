"""One connection's two tasks: a reader that handles client messages, and its own sender.

The sender is the only code that awaits the socket, so a slow client delays nobody else
(the hub writes a delta itself only when the socket takes it at once, see ioc.live.client).
It sends the outbox in order; once the client fell behind (its outbox filled), it first
sends the control frames and actions still queued, then one merged `coalesced` delta per
subscription and stream, then the latest aggregates. Snapshots and replays are taken when
they are reached, which fixes the sequence number from which deltas continue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import orjson

from ioc.live import protocol
from ioc.live.client import (
    DeltaEntry,
    Entry,
    LiveClient,
    ResumeEntry,
    SnapshotEntry,
    Subscription,
)
from ioc.live.coalesce import Backlog
from ioc.live.hub import LiveHub
from ioc.live.protocol import Code, ProtocolError
from ioc.live.subscriptions import parse_filter

logger = logging.getLogger(__name__)

Send = Callable[[bytes], Awaitable[None]]


class Session:
    """The protocol for one connected client."""

    def __init__(self, hub: LiveHub, client: LiveClient, send: Send) -> None:
        self.hub = hub
        self.client = client
        self._send = send

    def _now(self) -> str:
        return protocol.now(self.hub.clock)

    # ---- reading ----

    def hello(self) -> bytes:
        """The first frame: protocol version, server time, streams, limits, current seqs."""
        return protocol.frame(
            "hello", protocol=protocol.PROTOCOL, server_time=self._now(),
            streams=self.hub.streams, limits=self.hub.limits(),
            seqs={name: model.seq for name, model in self.hub.models.items()},
        )

    def handle(self, text: str | bytes) -> None:
        """Act on one client message; any fault is answered with an `error` frame."""
        try:
            kind, message = protocol.decode(text, self.hub.settings.max_message_bytes)
            if kind == "subscribe":
                self.subscribe(protocol.subscription_id(message), message)
            elif kind == "unsubscribe":
                sub_id = protocol.subscription_id(message)
                sub = self._existing(sub_id)
                self.hub.unsubscribe(sub)
                self._queue(protocol.frame("unsubscribed", sub=sub_id))
            elif kind == "resume":
                sub_id = protocol.subscription_id(message)
                self.resume(self._existing(sub_id), protocol.seqs(message.get("seqs"), sub_id))
            elif kind == "ping":
                nonce = message.get("nonce")
                self._queue(protocol.frame("pong", server_time=self._now(), nonce=nonce))
            else:
                raise ProtocolError(Code.UNKNOWN_TYPE, f"unknown message type {kind!r}")
        except ProtocolError as err:
            self._queue(protocol.error(err.code, err.reason, err.sub))

    def subscribe(self, sub_id: str, message: dict[str, object],
                  announce: bool = True) -> Subscription:
        """Add a subscription, then queue its snapshots (or replays of what it missed).

        `announce` False leaves out `subscribed` (the implicit `default` subscription).
        """
        try:
            spec = parse_filter(message, self.hub.streams)
            resume = protocol.seqs(message.get("resume"), sub_id)
            if (sub_id not in self.client.subscriptions
                    and len(self.client.subscriptions) >= self.hub.settings.max_subscriptions):
                raise ProtocolError(Code.TOO_MANY_SUBSCRIPTIONS,
                                    f"at most {self.hub.settings.max_subscriptions} "
                                    "subscriptions per connection")
            sub = self.hub.subscribe(self.client, sub_id, spec)
        except ProtocolError as err:
            err.sub = sub_id
            raise
        if announce:
            self._queue(protocol.frame("subscribed", sub=sub_id, filter=spec.to_json()))
        self.resume(sub, resume)
        return sub

    def resume(self, sub: Subscription, seqs: dict[str, int]) -> None:
        """Queue, per stream of `sub`, a replay after the client's seq, or else a snapshot."""
        unknown = sorted(set(seqs) - sub.filter.streams)
        if unknown:
            raise ProtocolError(Code.UNKNOWN_STREAM,
                                f"the subscription does not follow {unknown}", sub.id)
        lod = set(self.hub.lod_streams(sub))
        for stream in sorted(sub.filter.streams):
            sub.sent.pop(stream, None)
            if stream in seqs and stream not in lod:
                self._queue(ResumeEntry(sub, stream, seqs[stream]))
            else:
                self._queue(SnapshotEntry(sub, stream))

    def _existing(self, sub_id: str) -> Subscription:
        sub = self.client.subscriptions.get(sub_id)
        if sub is None:
            raise ProtocolError(Code.UNKNOWN_SUBSCRIPTION, f"no subscription {sub_id!r}", sub_id)
        return sub

    def _queue(self, entry: Entry) -> None:
        if not self.client.push(entry):
            self.hub.kick(self.client, "client too slow: it does not read what it asks for")

    # ---- sending ----

    async def pump(self) -> None:
        """Send until the client is kicked (returns its reason) or the socket fails.

        While the sender waits, the hub may write deltas straight to the socket (the client
        is not `busy`); a heartbeat goes out only after `heartbeat_s` without any frame.
        """
        client = self.client
        heartbeat = self.hub.settings.heartbeat_s
        while client.kicked is None:
            if client.idle():
                client.behind_since = None
                client.busy = False
                client.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(client.wake.wait(),
                                           timeout=max(0.0, client.last_sent + heartbeat
                                                       - time.monotonic()))
                if client.kicked is not None:
                    break
                if client.idle():
                    if client.last_sent + heartbeat - time.monotonic() > 0.01:
                        continue  # frames were written directly meanwhile
                    client.busy = True
                    await self.send(protocol.frame(
                        "heartbeat", server_time=self._now(),
                        seqs={n: m.seq for n, m in self.hub.models.items()}))
                    continue
            client.busy = True
            await self._send_pending()

    async def _send_pending(self) -> None:
        client = self.client
        if client.backlog:
            # Behind: whatever is queued now is control frames and actions; they go first,
            # then the latest value of each object instead of the deltas they replaced.
            while client.outbox:
                await self._send_entry(client.outbox.popleft())
            backlog, client.backlog = client.backlog, {}
            for (sub, stream), merged in backlog.items():
                await self._send_merged(sub, stream, merged)
        else:
            for _ in range(64):
                if not client.outbox or client.backlog:
                    break
                await self._send_entry(client.outbox.popleft())
        if client.aggregates:
            aggregates, client.aggregates = client.aggregates, {}
            for (sub, _stream), frame in aggregates.items():
                if sub.active:
                    await self.send(frame)

    async def _send_entry(self, entry: Entry) -> None:
        if isinstance(entry, bytes):
            await self.send(entry)
        elif isinstance(entry, DeltaEntry):
            sub, shared = entry.sub, entry.shared
            stream, seq = shared.delta.stream, shared.delta.seq
            sent = sub.sent.get(stream)
            if sub.active and sent is not None and seq > sent:
                sub.sent[stream] = seq
                await self.send(sub.delta_head + shared.tail())
        elif isinstance(entry, SnapshotEntry):
            if entry.sub.active:
                await self._snapshot(entry.sub, entry.stream, entry.reason)
        elif entry.sub.active:
            frames = await self.hub.replay(entry.sub, entry.stream, entry.after)
            if frames is None:
                await self._snapshot(entry.sub, entry.stream, "resume_window_passed")
            else:
                for frame in frames:
                    await self.send(frame)

    async def _snapshot(self, sub: Subscription, stream: str, reason: str | None) -> None:
        await self.send(self.hub.snapshot_frame(sub, stream, reason))
        if stream in self.hub.lod_streams(sub):
            await self.send(self.hub.aggregate_frame(sub, stream))

    async def _send_merged(self, sub: Subscription, stream: str, merged: Backlog) -> None:
        sent = sub.sent.get(stream)
        if not sub.active or sent is None:
            return
        body = merged.body(self.hub.specs[stream], sent)
        if body is None:
            return
        sub.sent[stream] = merged.last_seq
        self.client.coalesced_frames += 1
        self.hub.counters.coalesced += 1
        tail = protocol.tail(stream, merged.last_seq, orjson.dumps(body),
                             coalesced=True, from_seq=max(merged.first_seq, sent + 1))
        await self.send(sub.delta_head + tail)

    async def send(self, frame: bytes) -> None:
        """Write one frame; the hub's watchdog sees how long it takes."""
        client = self.client
        client.sending_since = time.monotonic()
        try:
            await self._send(frame)
        finally:
            client.sending_since = None
        client.sent_frames += 1
        client.last_sent = time.monotonic()
