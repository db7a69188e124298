"""Keeps table-held roll-ups current and drops raw rows past their feed's retention.

Each roll-up kept as a table (every one on plain PostgreSQL; queues alone under TimescaleDB
with the Timescale License build, where the others are continuous aggregates) has a
watermark: the instant up to which its buckets are computed. A pass recomputes the buckets
from the watermark minus a lateness allowance up to now: the 1-minute ones from raw rows,
the 15-minute and hourly ones from the 1-minute ones. A bucket is recomputed whole
(deleted and inserted in one transaction), so a pass is idempotent, late rows within the
allowance are counted, and a pass cut short by a crash is simply done again. A backlog
(the first pass over existing data) goes a day per transaction, moving the watermark each
time. Passes of several workers exclude each other by a transaction advisory lock.

Roll-ups held as continuous aggregates are kept by their TimescaleDB policies; a pass only
refreshes them once over the rows stored before their first refresh (`backfill_continuous`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from feeds.clock import Clock
from ioc.history.rollups import (
    ROLLUPS,
    WIDTHS,
    Rollup,
    ceil,
    combine_select,
    floor,
    parameters,
    raw_select,
)
from ioc.settings import HistorySettings

logger = logging.getLogger(__name__)

CHUNK = timedelta(days=1)
_LOCK_BASE = 0x10C_0800
# Raw tables and their time column, per feed (the keys of `retention_days`).
RAW_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "parking": (("parking_occupancy", "time"),),
    "parking_sessions": (("parking_sessions", "time"),),
    "signals": (("signal_events", "time"), ("signal_status", "time")),
    "queues": (("queue_ticket_events", "time"), ("queue_counter_snapshots", "time")),
    "online_services": (("online_applications", "day"),),
    "brt_vehicles": (("brt_vehicle_positions", "time"),),
    "brt_trips": (("brt_stop_events", "time"),),
    "brt_taps": (("brt_taps", "time"),),
}
# The feed whose raw rows each roll-up reads: they are never dropped before being rolled up.
ROLLUP_FEED = {"parking": "parking", "queues": "queues", "signals": "signals",
               "brt": "brt_vehicles", "taps": "brt_taps"}


@dataclass(frozen=True, slots=True)
class PassReport:
    """What one maintenance pass did."""

    watermarks: dict[str, datetime]
    deleted: dict[str, int]


async def table_rollups(conn: psycopg.AsyncConnection) -> list[Rollup]:
    """The roll-ups held as plain tables here (the ones this module keeps)."""
    cur = await conn.execute(
        "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND relname = ANY(%s)"
        " AND relnamespace = 'public'::regnamespace",
        ([r.relation("1m") for r in ROLLUPS.values()],))
    tables = {row[0] for row in await cur.fetchall()}
    return [r for r in ROLLUPS.values() if r.relation("1m") in tables]


async def refresh(conn: psycopg.AsyncConnection, rollup: Rollup, start: datetime,
                  end: datetime, params: dict[str, Any]) -> None:
    """Recompute every bucket of `rollup` touching [start, end), at each width.

    Buckets are widened outward to whole buckets, so a coarse bucket is always rebuilt from
    all of its fine ones; the caller holds the transaction.
    """
    finer: str | None = None
    for width, step in WIDTHS.items():
        lo, hi = floor(start, width), ceil(end, width)
        relation = rollup.relation(width)
        select = raw_select(rollup) if finer is None else combine_select(rollup, finer)
        await conn.execute(
            f"DELETE FROM {relation} WHERE bucket >= %(start)s AND bucket < %(end)s".encode(),
            {"start": lo, "end": hi})
        await conn.execute(
            f"INSERT INTO {relation} ({', '.join(rollup.columns)}) {select}".encode(),
            {**params, "width": step, "start": lo, "end": hi})
        finer = width


async def continuous_rollups(conn: psycopg.AsyncConnection) -> list[Rollup]:
    """The roll-ups held as TimescaleDB continuous aggregates here (kept by their policies)."""
    cur = await conn.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'v' AND relname = ANY(%s)"
        " AND relnamespace = 'public'::regnamespace",
        ([r.relation("1m") for r in ROLLUPS.values()],))
    views = {row[0] for row in await cur.fetchall()}
    return [r for r in ROLLUPS.values() if r.relation("1m") in views]


async def refresh_continuous(conn: psycopg.AsyncConnection, rollup: Rollup, start: datetime,
                             end: datetime, filled: bool = False) -> None:
    """Refresh the continuous aggregates of `rollup` over [start, end), finest first (the
    coarser ones are built on the 1-minute one). TimescaleDB refreshes whole buckets only,
    so the range is widened to whole buckets; with `filled`, its end is cut back instead,
    leaving the bucket still filling to real-time aggregation. `conn` must be in
    autocommit mode, outside any transaction."""
    for width in WIDTHS:
        lo, hi = floor(start, width), floor(end, width) if filled else ceil(end, width)
        if lo < hi:
            await conn.execute(
                "CALL refresh_continuous_aggregate(%s::regclass, %s::timestamptz,"
                " %s::timestamptz)", (rollup.relation(width), lo, hi))


async def rebuild(conn: psycopg.AsyncConnection, rollup: Rollup, start: datetime,
                  end: datetime, params: dict[str, Any]) -> None:
    """Recompute `rollup` over [start, end) whatever its watermark, e.g. after importing
    rows older than the lateness allowance; waits for a pass under way to finish. A
    continuous aggregate is refreshed instead, which needs `conn` in autocommit mode."""
    if rollup in await continuous_rollups(conn):
        await refresh_continuous(conn, rollup, start, end)
        return
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock(rollup),))
        await refresh(conn, rollup, start, end, params)


def _lock(rollup: Rollup) -> int:
    return _LOCK_BASE + list(ROLLUPS).index(rollup.name)


async def _watermark(conn: psycopg.AsyncConnection, rollup: Rollup) -> datetime | None:
    row = await (await conn.execute(
        "SELECT done_until FROM rollup_watermarks WHERE rollup = %s", (rollup.name,)
    )).fetchone()
    if row is not None:
        return row[0]  # type: ignore[no-any-return]
    # First pass: start from the oldest raw row.
    table = rollup.source.split()[0]
    row = await (await conn.execute(f"SELECT min(time) FROM {table}".encode())).fetchone()
    return None if row is None or row[0] is None else floor(row[0], "1h")


async def backfill_continuous(conn: psycopg.AsyncConnection, rollup: Rollup,
                              now: datetime) -> datetime | None:
    """Once per roll-up held as continuous aggregates, refresh them over every raw row
    before `now`, and note it in `rollup_watermarks`; return `now` when it did (None: done
    before, or no rows yet). Their policies refresh only recent buckets, and real-time
    aggregation reads raw rows only past the materialised ones, so rows already stored
    when the aggregates were created (or loaded before their first refresh) would
    otherwise never be counted. `conn` must be in autocommit mode."""
    if await (await conn.execute(
            "SELECT 1 FROM rollup_watermarks WHERE rollup = %s", (rollup.name,))).fetchone():
        return None
    first = await (await conn.execute(
        f"SELECT min(time) FROM {rollup.source.split()[0]}".encode())).fetchone()
    if first is None or first[0] is None or first[0] >= now:
        return None
    await refresh_continuous(conn, rollup, first[0], now, filled=True)
    await conn.execute("INSERT INTO rollup_watermarks (rollup, done_until) VALUES (%s, %s)"
                       " ON CONFLICT (rollup) DO NOTHING", (rollup.name, now))
    return now


async def maintain(conn: psycopg.AsyncConnection, rollup: Rollup, now: datetime,
                   lateness: timedelta, params: dict[str, Any]) -> datetime | None:
    """Bring one roll-up up to `now`; return its new watermark (None: nothing to do yet).

    `conn` must be in autocommit mode: each chunk is a transaction of its own.
    """
    lock = _lock(rollup)
    done: datetime | None = None
    while True:
        async with conn.transaction():
            got = await (await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (lock,))
                         ).fetchone()
            if got is None or not got[0]:
                return done  # another worker's pass is under way
            mark = await _watermark(conn, rollup)
            if mark is None:
                return None
            start = min(mark, now) - lateness if done is None else mark
            end = min(now, floor(start, "1h") + CHUNK)
            await refresh(conn, rollup, start, end, params)
            await conn.execute(
                "INSERT INTO rollup_watermarks (rollup, done_until) VALUES (%s, %s)"
                " ON CONFLICT (rollup) DO UPDATE SET done_until = excluded.done_until,"
                " updated_at = now()", (rollup.name, end))
            done = end
        if end >= now:
            return done


async def apply_retention(conn: psycopg.AsyncConnection, settings: HistorySettings,
                          now: datetime, raw: bool = True) -> dict[str, int]:
    """Delete raw rows past their feed's retention (never rows a roll-up has not yet
    covered) and 1-minute roll-up buckets past `rollup_1m_days`; return rows deleted."""
    lateness = timedelta(seconds=settings.lateness_s)
    marks: dict[str, datetime] = dict(await (await conn.execute(
        "SELECT rollup, done_until FROM rollup_watermarks")).fetchall())
    tables = {r.name for r in await table_rollups(conn)}
    deleted: dict[str, int] = {}
    for feed, days in (settings.retention_days.items() if raw else ()):
        cutoff = now - timedelta(days=days)
        for rollup, source_feed in ROLLUP_FEED.items():
            if source_feed == feed and rollup in tables:
                mark = marks.get(rollup)
                cutoff = min(cutoff, (mark or cutoff) - lateness)
        for table, column in RAW_TABLES.get(feed, ()):
            bound: object = cutoff.date() if column == "day" else cutoff
            cur = await conn.execute(
                f"DELETE FROM {table} WHERE {column} < %s".encode(), (bound,))
            deleted[table] = cur.rowcount
    cutoff = now - timedelta(days=settings.rollup_1m_days)
    for name in tables:
        cur = await conn.execute(
            f"DELETE FROM {name}_1m WHERE bucket < %s".encode(), (cutoff,))
        deleted[f"{name}_1m"] = cur.rowcount
    return deleted


async def apply_timescale_retention(conn: psycopg.AsyncConnection,
                                    settings: HistorySettings) -> list[str]:
    """Bring the retention policies of the raw hypertables (and of the 1-minute continuous
    aggregates) to the configured ones; return the relations whose policy changed.

    A policy already as configured is left alone. Run it under the schema lock
    (`ioc.storage.migrate.upgrade` does): two processes replacing the same policy at once
    collide in TimescaleDB's job catalogue. Retention policies need the Timescale License
    build; with the Apache-only one nothing is done."""
    row = await (await conn.execute(
        "SELECT current_setting('timescaledb.license', true)")).fetchone()
    if row is None or row[0] != "timescale":
        return []
    cur = await conn.execute(
        "SELECT hypertable_name FROM timescaledb_information.hypertables"
        " UNION SELECT view_name FROM timescaledb_information.continuous_aggregates")
    managed = {r[0] for r in await cur.fetchall()}
    current = await retention_policies(conn)
    policies = [(table, days) for feed, days in settings.retention_days.items()
                for table, _ in RAW_TABLES.get(feed, ())]
    policies += [(r.relation("1m"), settings.rollup_1m_days) for r in ROLLUPS.values()]
    applied = []
    for relation, days in policies:
        if relation not in managed or current.get(relation) == timedelta(days=days):
            continue
        await conn.execute("SELECT remove_retention_policy(%s::regclass, if_exists => TRUE)",
                           (relation,))
        await conn.execute("SELECT add_retention_policy(%s::regclass, %s::interval)",
                           (relation, timedelta(days=days)))
        applied.append(relation)
    return applied


async def retention_policies(conn: psycopg.AsyncConnection) -> dict[str, timedelta]:
    """The retention policies in force, by hypertable or continuous aggregate."""
    # A continuous aggregate's jobs name its materialisation hypertable, not the view.
    cur = await conn.execute(
        "SELECT coalesce(c.view_name, j.hypertable_name), (j.config->>'drop_after')::interval"
        " FROM timescaledb_information.jobs j"
        " LEFT JOIN timescaledb_information.continuous_aggregates c"
        " ON c.materialization_hypertable_schema = j.hypertable_schema"
        " AND c.materialization_hypertable_name = j.hypertable_name"
        # An integer-time hypertable's policy holds a number, not an interval.
        " WHERE j.proc_name = 'policy_retention'"
        " AND jsonb_typeof(j.config->'drop_after') = 'string'")
    return dict(await cur.fetchall())


class Maintainer:
    """The worker's loop: a pass over every table-held roll-up, then retention, repeatedly."""

    def __init__(self, pool: AsyncConnectionPool, settings: HistorySettings,
                 targets: dict[str, float], mode: str, clock: Clock) -> None:
        self.pool = pool
        self.settings = settings
        self.params = parameters(targets)
        self.mode = mode
        self.clock = clock

    async def run_once(self, now: datetime | None = None) -> PassReport:
        """One pass at `now` (default: the clock's now)."""
        now = now or self.clock.now()
        lateness = timedelta(seconds=self.settings.lateness_s)
        marks: dict[str, datetime] = {}
        async with self.pool.connection() as conn:
            await conn.set_autocommit(True)
            try:
                for rollup in await table_rollups(conn):
                    mark = await maintain(conn, rollup, now, lateness, self.params)
                    if mark is not None:
                        marks[rollup.name] = mark
                for rollup in await continuous_rollups(conn):
                    mark = await backfill_continuous(conn, rollup, now)
                    if mark is not None:
                        marks[rollup.name] = mark
                        logger.info("continuous aggregates of %s backfilled", rollup.name)
                async with conn.transaction():
                    # Under TimescaleDB, raw rows are dropped by policy, chunk by chunk.
                    deleted = await apply_retention(conn, self.settings, now,
                                                    raw=self.mode == "postgresql")
            finally:
                await conn.set_autocommit(False)
        return PassReport(marks, deleted)

    async def run(self, stop: asyncio.Event) -> None:
        """Run passes every `maintain_interval_s` until `stop` is set."""
        while not stop.is_set():
            try:
                await self.run_once()
            except (psycopg.Error, OSError):
                logger.exception("roll-up maintenance pass failed; retrying next interval")
            try:
                await asyncio.wait_for(stop.wait(), self.settings.maintain_interval_s)
            except TimeoutError:
                pass
