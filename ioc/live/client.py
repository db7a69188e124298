"""One connected client as the hub sees it: its subscriptions and its bounded outbox.

The hub only ever calls the synchronous `offer_*` methods, which never wait. When nothing is
queued for the client, its sender is idle and its socket's transport is not backed up, a delta
is written to the socket at once (ioc.live.direct): the common case costs no task hop.
Otherwise it goes to the outbox while that has room; once the outbox is full, deltas are
folded into a latest-value backlog per subscription and stream instead (the client is
*behind*). The client's own sender task (ioc.live.sender) empties both. A client behind for
too long is disconnected.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ioc.live import protocol
from ioc.live.coalesce import Backlog
from ioc.live.subscriptions import Filter

if TYPE_CHECKING:
    from ioc.live.direct import FrameWriter
    from ioc.live.hub import Group, Shared


@dataclass(eq=False, slots=True)
class Subscription:
    """One `subscribe` of one client; `sent` is the last seq sent per stream (none: owed a
    snapshot or replay, which sets it)."""

    client: LiveClient
    id: str
    filter: Filter
    group: Group | None = None
    sent: dict[str, int] = field(default_factory=dict)
    active: bool = True
    delta_head: bytes = b""

    def __post_init__(self) -> None:
        self.delta_head = protocol.head("delta", self.id)


@dataclass(frozen=True, slots=True)
class DeltaEntry:
    """A delta for one subscription, encoded once for its filter group."""

    sub: Subscription
    shared: Shared


@dataclass(frozen=True, slots=True)
class SnapshotEntry:
    """Send a fresh snapshot of a stream to a subscription (taken when sent)."""

    sub: Subscription
    stream: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ResumeEntry:
    """Replay what a subscription missed on a stream after `after`, or snapshot it."""

    sub: Subscription
    stream: str
    after: int


Entry = DeltaEntry | SnapshotEntry | ResumeEntry | bytes


class LiveClient:
    """What the hub knows of one connection."""

    def __init__(self, limit: int, principal: str = "") -> None:
        self.limit = limit
        self.principal = principal
        self.subscriptions: dict[str, Subscription] = {}
        self.outbox: deque[Entry] = deque()
        self.backlog: dict[tuple[Subscription, str], Backlog] = {}
        self.aggregates: dict[tuple[Subscription, str], bytes] = {}
        self.wake = asyncio.Event()
        self.closing = asyncio.Event()
        self.behind_since: float | None = None
        self.sending_since: float | None = None
        self.kicked: str | None = None
        self.coalesced_frames = 0
        self.sent_frames = 0
        # Set by the session when frames can be written without awaiting; `busy` while its
        # sender works (a frame written now could overtake what the sender holds).
        self.writer: FrameWriter | None = None
        self.busy = False
        self.last_sent = time.monotonic()

    def offer_delta(self, sub: Subscription, shared: Shared) -> None:
        """Write a delta now, else queue it, or fold it into the backlog when the outbox is
        full."""
        if self._can_write():
            stream, seq = shared.delta.stream, shared.delta.seq
            sent = sub.sent.get(stream)
            # Without `sent`, the subscription waits for a snapshot or replay: queue behind it.
            if sent is not None:
                if sub.active and seq > sent:
                    self._write(sub.delta_head + shared.tail())
                    sub.sent[stream] = seq
                return
        if self.backlog or len(self.outbox) >= self.limit:
            self._fold_outbox()
            key = (sub, shared.delta.stream)
            backlog = self.backlog.get(key)
            if backlog is None:
                backlog = self.backlog[key] = Backlog(shared.delta.seq)
            backlog.fold(shared.delta.seq, shared.items)
        else:
            self.outbox.append(DeltaEntry(sub, shared))
        self._wake()

    def offer_aggregate(self, sub: Subscription, stream: str, frame: bytes) -> None:
        """Write a subscription's aggregates of a stream now, else queue them, replacing any
        not yet sent."""
        if self._can_write():
            if sub.active:
                self._write(frame)
            return
        self.aggregates[(sub, stream)] = frame
        self._wake()

    def _can_write(self) -> bool:
        """Whether a frame may go straight to the socket: nothing ahead of it, and the
        transport takes it without waiting."""
        return (self.writer is not None and not self.busy and self.kicked is None
                and not (self.outbox or self.backlog or self.aggregates)
                and self.writer.ready())

    def _write(self, frame: bytes) -> None:
        assert self.writer is not None
        try:
            self.writer.write(frame)
        except ConnectionError:
            return  # the connection is going: its session ends on the disconnect
        self.sent_frames += 1
        self.last_sent = time.monotonic()

    def push(self, entry: Entry) -> bool:
        """Queue a control frame or action; False when the client is hopelessly behind."""
        if len(self.outbox) >= 2 * self.limit:
            return False
        self.outbox.append(entry)
        self._wake()
        return True

    def _fold_outbox(self) -> None:
        if self.behind_since is None:
            self.behind_since = time.monotonic()
        if not any(isinstance(e, DeltaEntry) for e in self.outbox):
            return
        kept: deque[Entry] = deque()
        for entry in self.outbox:
            if isinstance(entry, DeltaEntry):
                key = (entry.sub, entry.shared.delta.stream)
                backlog = self.backlog.get(key)
                if backlog is None:
                    backlog = self.backlog[key] = Backlog(entry.shared.delta.seq)
                backlog.fold(entry.shared.delta.seq, entry.shared.items)
            else:
                kept.append(entry)
        self.outbox = kept

    def _wake(self) -> None:
        if not self.wake.is_set():
            self.wake.set()

    def idle(self) -> bool:
        """Nothing left to send."""
        return not (self.outbox or self.backlog or self.aggregates)

    def lag(self, now: float) -> float:
        """How long this client has been behind, or stuck in one send (seconds)."""
        behind = 0.0 if self.behind_since is None else now - self.behind_since
        stuck = 0.0 if self.sending_since is None else now - self.sending_since
        return max(behind, stuck)

    def stats(self) -> dict[str, Any]:
        """Figures for /api/live/stats."""
        return {"subscriptions": len(self.subscriptions), "queued": len(self.outbox),
                "behind": self.behind_since is not None, "sent": self.sent_frames,
                "coalesced": self.coalesced_frames}
