"""The writer: bus entries to committed rows, acknowledged only after commit, then announced."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
import redis.exceptions
from psycopg_pool import AsyncConnectionPool

from ioc import metrics
from ioc.bus import DEAD, Entry, RedisBus
from ioc.settings import instance_name
from ioc.storage.deadletter import DeadLetter, write_dead_letters
from ioc.tables import TABLES, LiveDelta

logger = logging.getLogger(__name__)

TRIM_EVERY_S = 30.0
CLAIM_IDLE_MS = 60_000


@dataclass(slots=True)
class _Batch:
    """Entries of one read, decoded and sorted by feed, with what could not be decoded."""

    rows: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    dead: list[DeadLetter] = field(default_factory=list)
    ids: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


@dataclass(slots=True)
class WriterStats:
    """Counts since start, for logs and benchmarks."""

    entries: int = 0
    stored: int = 0
    duplicates: int = 0
    dead: int = 0


class Writer:
    """One consumer of the writers' group (`consumer`: its name there, unique per writer;
    by default `writer-<host>-<pid>`)."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        bus: RedisBus,
        feeds: Sequence[str],
        consumer: str | None = None,
        batch_entries: int = 200,
        block_ms: int = 1000,
        claim_idle_ms: int = CLAIM_IDLE_MS,
    ) -> None:
        self.stats = WriterStats()
        self._pool = pool
        self._bus = bus
        self._feeds = [f for f in feeds if f in TABLES]
        self._consumer = consumer or f"writer-{instance_name()}"
        self._count = batch_entries
        self._block_ms = block_ms
        self._claim_idle_ms = claim_idle_ms
        self._keys: list[str] = []
        self._pending_first = True
        self._last_trim = 0.0
        self._last_claim = -math.inf
        self._deltas_failing: set[str] = set()

    async def start(self) -> None:
        """Create consumer groups; the first step takes over entries abandoned by dead writers."""
        self._keys = await self._bus.ensure_groups(self._feeds)
        self._pending_first = True
        self._last_claim = -math.inf

    async def step(self) -> int:
        """Read one batch of entries, commit it, acknowledge it; return the entries handled."""
        await self._maybe_claim()
        entries = await self._bus.read(
            self._consumer, self._keys, self._count, self._block_ms, self._pending_first
        )
        if self._pending_first and not entries:
            # Everything this consumer had read before a crash is now committed.
            self._pending_first = False
            return 0
        if not entries:
            return 0
        try:
            batches = [self._decode(entries)]
            deltas = await self._commit(batches[0])
        except (psycopg.DataError, psycopg.IntegrityError) as err:
            # One poisoned entry must not hold back the rest: retry entry by entry and send
            # the ones the database refuses to the dead-letter store.
            logger.warning("writer %s: batch refused (%s); retrying entry by entry",
                           self._consumer, err)
            batches, deltas = await self._commit_one_by_one(entries)
        for batch in batches:
            for stream, ids in batch.ids.items():
                await self._bus.ack(stream, ids)
        self.stats.entries += len(entries)
        for delta in deltas:
            await self._bus.publish_live(delta.stream, delta.body)
        await self._maybe_trim()
        return len(entries)

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until `stop`; on a storage or bus failure, log once, back off, resume."""
        # Started (or restarted after a crash of the loop): own pending entries first.
        self._keys = []
        failures = 0
        while not stop.is_set():
            try:
                if not self._keys:
                    await self.start()
                await self.step()
            except (psycopg.OperationalError, OSError, ConnectionError,
                    redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as err:
                if failures == 0:
                    logger.warning("writer %s paused: %s", self._consumer, err)
                failures += 1
                # Entries read but not committed stay pending: read them again first.
                self._pending_first = True
                await _sleep_or_stop(stop, min(30.0, 0.5 * 2 ** min(failures, 6)))
            else:
                if failures:
                    logger.info("writer %s resumed after %d failures", self._consumer, failures)
                failures = 0

    def _decode(self, entries: Sequence[Entry]) -> _Batch:
        batch = _Batch()
        for entry in entries:
            batch.ids[entry.stream].append(entry.entry_id)
            feed = self._bus.feed_of(entry.stream)
            try:
                records = orjson.loads(entry.fields[b"records"])
                if feed == DEAD:
                    batch.dead.extend(_dead_letters(entry, records))
                else:
                    batch.rows[feed].extend(TABLES[feed].decode(r) for r in records)
            except (KeyError, ValueError, TypeError) as err:
                batch.dead.append(
                    DeadLetter(feed, f"corrupt bus entry: {err!r}", _raw(entry), entry.entry_id, -1)
                )
        return batch

    async def _commit(self, batch: _Batch) -> list[LiveDelta]:
        deltas: list[LiveDelta] = []
        committed = []
        async with self._pool.connection() as conn:
            with metrics.WRITER_COMMIT_SECONDS.time():
                async with conn.transaction():
                    for feed, rows in batch.rows.items():
                        committed.append((feed, rows, await TABLES[feed].write(conn, rows)))
                    await write_dead_letters(conn, batch.dead)
            for feed, rows in batch.rows.items():
                deltas.extend(await self._deltas(conn, feed, rows))
        self.stats.dead += len(batch.dead)
        for feed, rows, result in committed:
            duplicates = result.offered - result.inserted
            self.stats.stored += result.inserted
            self.stats.duplicates += duplicates
            await self._bus.record_commit(
                feed, TABLES[feed].newest(rows), result.inserted, duplicates
            )
        return deltas

    async def _deltas(
        self, conn: psycopg.AsyncConnection, feed: str, rows: Sequence[Any]
    ) -> list[LiveDelta]:
        # The rows are committed: a delta query that fails for any reason but the database
        # being out of reach costs the announcement, never the acknowledgement; else the
        # same entries would be read, stored and refused again for ever.
        try:
            found = await TABLES[feed].deltas(conn, rows)
        except psycopg.OperationalError:
            raise
        except psycopg.Error:
            await conn.rollback()
            metrics.WRITER_DELTA_FAILURES.labels(feed).inc()
            if feed not in self._deltas_failing:
                logger.exception("writer %s: live deltas of %s failed; rows stored, not "
                                 "announced", self._consumer, feed)
            self._deltas_failing.add(feed)
            return []
        if feed in self._deltas_failing:
            logger.info("writer %s: live deltas of %s recovered", self._consumer, feed)
            self._deltas_failing.discard(feed)
        return found

    async def _commit_one_by_one(
        self, entries: Sequence[Entry]
    ) -> tuple[list[_Batch], list[LiveDelta]]:
        batches, deltas = [], []
        for entry in entries:
            batch = self._decode([entry])
            try:
                deltas.extend(await self._commit(batch))
            except (psycopg.DataError, psycopg.IntegrityError) as err:
                batch = _Batch(ids=batch.ids)
                batch.dead.append(
                    DeadLetter(self._bus.feed_of(entry.stream), f"refused by the database: {err}",
                               _raw(entry), entry.entry_id, -1)
                )
                await self._commit(batch)
            batches.append(batch)
        return batches, deltas

    async def _maybe_claim(self) -> None:
        # Not only at start: a writer that dies while others run leaves its pending entries
        # to whichever live writer claims next. Writes are idempotent on natural keys, so an
        # entry claimed from a writer that was only slow is still stored once.
        now = time.monotonic()
        if now - self._last_claim < self._claim_idle_ms / 2000:
            return
        self._last_claim = now
        claimed = await self._bus.claim_abandoned(self._consumer, self._keys, self._claim_idle_ms)
        if claimed:
            logger.info("writer %s took over %d abandoned entries", self._consumer, claimed)
            self._pending_first = True

    async def _maybe_trim(self) -> None:
        now = time.monotonic()
        if now - self._last_trim < TRIM_EVERY_S:
            return
        self._last_trim = now
        for key in self._keys:
            await self._bus.trim(key)


def _dead_letters(entry: Entry, records: list[dict[str, str]]) -> list[DeadLetter]:
    feed = entry.fields[b"feed"].decode()
    return [
        DeadLetter(feed, r["reason"], r["raw"], entry.entry_id, i) for i, r in enumerate(records)
    ]


def _raw(entry: Entry) -> str:
    return "; ".join(
        f"{k.decode(errors='replace')}={v.decode(errors='replace')}"
        for k, v in entry.fields.items()
    )


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
