"""The runner owns a feed's loop: fetch, parse, geo-tag, publish, back off, report health."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from feeds.base import AreaAssigner, Feed, Observation, Parsed, Rejected, geo_tag
from feeds.clock import Clock

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0
MIN_POLL_S = 0.25


class Sink(Protocol):
    """Where a runner hands its results (the Redis bus in the service)."""

    async def publish(self, feed: str, observations: Sequence[Observation]) -> None:
        """Durably accept a batch of observations."""
        ...

    async def reject(self, feed: str, rejected: Sequence[Rejected]) -> None:
        """Durably keep rejected records for the dead-letter store."""
        ...

    async def report(self, feed: str, health: FeedHealth) -> None:
        """Record the runner's health for /api/health."""
        ...


@dataclass(slots=True)
class FeedHealth:
    """What an operator needs to know about a feed's source."""

    last_success: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    accepted: int = 0
    rejected: int = 0
    outside: int = 0
    # When this runner started polling: until one lag allowance after it, a feed without
    # fresh data is starting, not late.
    started: datetime | None = None


class FeedRunner:
    """Drives one feed: one fetch per interval, exponential backoff when the source fails."""

    def __init__(self, feed: Feed, sink: Sink, assign: AreaAssigner, *, clock: Clock) -> None:
        self.feed = feed
        self._clock = clock
        self.health = FeedHealth()
        self._sink = sink
        self._assign = assign

    async def run_once(self) -> int:
        """Fetch, parse, tag and publish one payload; return how many observations went out."""
        return len((await self.ingest(await self.feed.fetch())).observations)

    async def ingest(self, payload: bytes) -> Parsed[Observation]:
        """Parse, tag and publish a payload however it arrived (polled, pushed, replayed)."""
        parsed = self.feed.parse(payload)
        tagged = geo_tag(parsed.observations, self._assign)
        outside = [o for o in tagged if getattr(o, "district", None) is None]
        if parsed.rejected:
            await self._sink.reject(self.feed.name, parsed.rejected)
        if tagged:
            await self._sink.publish(self.feed.name, tagged)
        self.health.accepted += len(tagged)
        self.health.rejected += len(parsed.rejected)
        self.health.outside += len(outside)
        return Parsed(tagged, parsed.rejected)

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until `stop` is set; log a failure once and its recovery once."""
        self.health.started = self._clock.now()
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception as err:  # noqa: BLE001 - any source failure must not kill the loop
                self.failed(err)
            else:
                self.succeeded()
            await self.report()
            delay = self.delay()
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                pass

    def failed(self, err: Exception) -> None:
        """Record a source failure (logged once until it recovers)."""
        if self.health.consecutive_failures == 0:
            logger.warning("feed %s failing: %s", self.feed.name, err, exc_info=err)
        self.health.consecutive_failures += 1
        self.health.last_error = f"{type(err).__name__}: {err}"

    def succeeded(self) -> None:
        """Record a success (logs the recovery once)."""
        if self.health.consecutive_failures:
            logger.info(
                "feed %s recovered after %d failures",
                self.feed.name,
                self.health.consecutive_failures,
            )
        self.health.consecutive_failures = 0
        self.health.last_error = None
        self.health.last_success = self._clock.now()

    async def report(self) -> None:
        """Hand the current health to the sink (never raises)."""
        try:
            await self._sink.report(self.feed.name, self.health)
        except Exception as err:  # noqa: BLE001 - health reporting must never stop ingest
            logger.debug("feed %s could not report health: %s", self.feed.name, err)

    def delay(self) -> float:
        """Seconds until the next attempt: the interval, or a jittered backoff after failures."""
        failures = self.health.consecutive_failures
        if not failures:
            # A source reports at its interval in city time: a time-lapse clock polls it
            # faster (down to a floor), so its data keeps within the same lag allowance.
            return max(MIN_POLL_S, self.feed.interval_s / self._clock.speed)
        backoff = min(MAX_BACKOFF_S, self.feed.interval_s * 2.0 ** min(failures, 8))
        # Jitter spreads reconnect storms when many sources come back at once.
        return backoff * random.uniform(0.5, 1.0)
