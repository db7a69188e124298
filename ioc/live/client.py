"""One connected client as the hub sees it: its subscriptions and its bounded outbox.

The hub only ever calls the synchronous `offer_*` methods, which never wait: a delta goes
to the outbox while it has room; once it is full, deltas are folded into a latest-value
backlog per subscription and stream instead (the client is *behind*). The client's own
sender task (ioc.live.sender) empties both. A client behind for too long is disconnected.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ioc.live.coalesce import Backlog
from ioc.live.subscriptions import Filter

if TYPE_CHECKING:
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

    def offer_delta(self, sub: Subscription, shared: Shared) -> None:
        """Queue a delta, or fold it into the backlog when the outbox is full."""
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
        """Queue a subscription's aggregates of a stream, replacing any not yet sent."""
        self.aggregates[(sub, stream)] = frame
        self._wake()

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
