"""Helpers of the fault tests: numbered observations to push, and counts of what was stored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import psycopg

from feeds.parking import ParkingObservation
from ioc.bus import RedisBus

# A real car park of Hoàn Kiếm; each observation gets its own instant, hence its own key.
SITE = ("hk-ly-thuong-kiet", 105.8468, 21.0246, "002")
EPOCH = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def observations(first: int, count: int, site: str = SITE[0]) -> list[ParkingObservation]:
    """`count` distinct occupancy readings numbered from `first` (one second apart)."""
    return [
        ParkingObservation(site, "car", EPOCH + timedelta(seconds=n), 60, n % 61,
                           "spacesAvailable", SITE[1], SITE[2], SITE[3])
        for n in range(first, first + count)
    ]


class Producer:
    """Pushes numbered batches to the bus and counts those the bus accepted."""

    def __init__(self, bus: RedisBus, batch: int = 200) -> None:
        self.bus = bus
        self.batch = batch
        self.accepted = 0
        self.refused = 0
        self._next = 0

    async def push(self, batches: int = 1) -> None:
        """Push `batches` batches; a batch the bus refuses is counted as refused, not accepted."""
        for _ in range(batches):
            chunk: Sequence[ParkingObservation] = observations(self._next, self.batch)
            self._next += self.batch
            try:
                await self.bus.publish("parking", chunk)
            except Exception:  # noqa: BLE001 - whatever the bus raised, the batch is not accepted
                self.refused += len(chunk)
            else:
                self.accepted += len(chunk)


def stored(url: str, site: str = SITE[0]) -> tuple[int, int]:
    """(rows, distinct natural keys) of the site's stored occupancy."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (site_id, vehicle_type, time)) "
            "FROM parking_occupancy WHERE site_id = %s", (site,)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def stored_or_none(url: str) -> int | None:
    """Rows stored, or None while the database cannot be reached."""
    try:
        return stored(url)[0]
    except psycopg.OperationalError:
        return None


async def until(predicate: Callable[[], object], timeout: float = 60.0) -> None:
    """Poll a check without blocking the event loop (a hang guard, not a speed check)."""
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.25)
    await asyncio.wait_for(poll(), timeout)
