"""The public-service queue feed: ticket events and counter snapshots from the one-stop shops."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from feeds.queues.parse import ParsedQueues, parse_payload
from feeds.queues.points import ServicePoint


class QueuesFeed:
    """Polls a queue-management source for JSON Lines or batch documents.

    The directory of service points gives each record its position and tells which service
    types a desk offers and how many counters it has, so the parser can refuse the rest.
    """

    mode: Literal["poll", "push"] = "poll"

    def __init__(
        self,
        source: Callable[[], Awaitable[bytes]],
        points: Mapping[str, ServicePoint],
        interval_s: float = 5.0,
        name: str = "queues",
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self._source = source
        self._points = points

    async def fetch(self) -> bytes:
        """Return the next payload from the source."""
        return await self._source()

    def parse(self, payload: bytes) -> ParsedQueues:
        """Parse a payload without I/O."""
        return parse_payload(payload, self._points)
