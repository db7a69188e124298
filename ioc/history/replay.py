"""Replay of stored history: frames of rows in time order, paced at 1×–3600×.

`Replay` is the clock and the reader. It reads every replayed table in time windows (small at
first, so the first frame is quick; never more than one window of rows in memory), merges
them in time order, and hands out one `Frame` per tick once the replay clock has reached the
frame's end: rows with start < time <= end, each exactly once. It can pause, play, change
speed and seek; a seek hands out a `Seeked` marker, after which the rows continue from the
seek time.
Its wall clock (a monotonic reading and a sleep) is a `Pacing` handed in by the caller, so
that a test can pace a replay on a clock of its own.

`ReplayWall` turns frames into what the live wall receives: it keeps the state at the replay
clock in temporary twins of the live-state tables (see `ioc.history.state_at`), applies each
frame's rows there, and computes the deltas with the writer's own delta functions
(`ioc.tables`), so a replayed delta body is exactly what the live stream would have sent.
Situations come from their history: the snapshot holds those open at the replay clock, and a
situation whose history moved within a frame is sent as it stood at the frame's end.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg

from geo import BoundaryLayer
from ioc.history.state_at import Coordinates, fill_shadow, shadow_bus_ids, situations_at
from ioc.storage.append import upsert_newest
from ioc.storage.brt import brt_vehicles
from ioc.storage.parking import DistrictParking, district_parking, parking_sites
from ioc.storage.queues import district_queues, queue_points
from ioc.storage.signals import district_signals, signal_units
from ioc.tables import TABLES, LiveDelta

# The live streams a replay carries, in the order their snapshots are sent.
STREAMS = ("districts", "parking", "signals", "queues", "brt", "situations")
MIN_SPEED, MAX_SPEED = 1.0, 3600.0
TICK_S = 0.1  # wall-clock seconds per frame
FIRST_WINDOW = timedelta(minutes=1)
MAX_WINDOW = timedelta(hours=6)
WINDOW_ROWS = 20_000  # a read window shrinks when it returns more rows than this


@dataclass(frozen=True, slots=True)
class ReplayTable:
    """A stored table whose rows feed a live stream: what to select, for which feed."""

    feed: str
    table: str
    columns: str


# The tables behind the live streams (districts, parking, signals, queues, brt). Other
# feeds change nothing on the wall by themselves (the writer publishes no delta for them).
REPLAYED: tuple[ReplayTable, ...] = (
    ReplayTable("parking", "parking_occupancy",
                "time, site_id, vehicle_type, district, capacity, occupied, status"),
    ReplayTable("signals", "signal_status", "time, signal_id, state, reason, since, district"),
    ReplayTable("queues", "queue_counter_snapshots",
                "time, point_id, counters_open, waiting_total, waiting::text, district"),
    ReplayTable("brt_vehicles", "brt_vehicle_positions",
                "time, vehicle_id, trip_id, route_id, direction_id, stop_id, stop_sequence,"
                " status, occupancy, lon, lat, district"),
)


@dataclass(frozen=True, slots=True)
class Pacing:
    """The wall clock a replay runs on: a monotonic reading in seconds, and a sleep."""

    monotonic: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Frame:
    """Rows stored with time in (start, end], in time order, tagged with their feed."""

    start: datetime
    end: datetime
    rows: list[tuple[str, tuple[Any, ...]]]


@dataclass(frozen=True, slots=True)
class Seeked:
    """The replay jumped to `at`: what the client holds is void; rows continue after `at`."""

    at: datetime


@dataclass(slots=True)
class _Reader:
    """Rows of the replayed tables after a cursor, read in time windows, in time order."""

    conn: psycopg.AsyncConnection
    tables: Sequence[ReplayTable]
    end: datetime
    read_to: datetime
    window: timedelta = FIRST_WINDOW
    buffer: deque[tuple[datetime, int, str, tuple[Any, ...]]] = field(default_factory=deque)

    async def _read_window(self) -> None:
        upper = min(self.read_to + self.window, self.end)
        batches = []
        for order, spec in enumerate(self.tables):
            cur = await self.conn.execute(
                f"SELECT {spec.columns} FROM {spec.table}"  # noqa: S608 (fixed names)
                " WHERE time > %s AND time <= %s ORDER BY time",
                (self.read_to, upper),
            )
            batches.append([(row[0], order, spec.feed, row) for row in await cur.fetchall()])
        merged = list(heapq.merge(*batches, key=lambda r: (r[0], r[1])))
        self.buffer.extend(merged)
        self.read_to = upper
        # Aim for windows of a bounded number of rows.
        if len(merged) > WINDOW_ROWS:
            self.window = max(self.window / 2, timedelta(seconds=1))
        elif len(merged) < WINDOW_ROWS // 4:
            self.window = min(self.window * 2, MAX_WINDOW)

    async def take(self, until: datetime) -> list[tuple[str, tuple[Any, ...]]]:
        """Every row with time in (previous `until`, `until`], reading windows as needed."""
        while self.read_to < until:
            await self._read_window()
        out = []
        while self.buffer and self.buffer[0][0] <= until:
            _, _, feed, row = self.buffer.popleft()
            out.append((feed, row))
        return out


class Replay:
    """A replay of [start, end] at a speed, driven by a wall clock; controls may be called
    from another task while frames are being iterated."""

    def __init__(self, conn: psycopg.AsyncConnection, start: datetime, end: datetime,
                 speed: float, *, pacing: Pacing, tables: Sequence[ReplayTable] = REPLAYED,
                 tick_s: float = TICK_S) -> None:
        if not start < end:
            raise ValueError("a replay's start must come before its end")
        self.start, self.end = start, end
        self.speed = check_speed(speed)
        self.paused = False
        self._tables = tables
        self._pacing = pacing
        self._conn = conn
        self._tick_s = tick_s
        self._changed = asyncio.Event()
        self._seek_to: datetime | None = None
        self._reader = _Reader(conn, tables, end, start)
        self._delivered = start  # frames have been handed out up to here
        self._anchor = (start, self._pacing.monotonic())  # replay time ↔ wall time while playing

    @property
    def position(self) -> datetime:
        """Where the replay clock stands now."""
        if self._seek_to is not None:
            return self._seek_to
        if self.paused:
            return self._delivered
        sim, wall = self._anchor
        moved = sim + timedelta(seconds=(self._pacing.monotonic() - wall) * self.speed)
        return min(max(moved, self._delivered), self.end)

    @property
    def finished(self) -> bool:
        """Every frame up to the end has been handed out."""
        return self._delivered >= self.end

    def restart_clock(self) -> None:
        """Count wall time from now (after work, such as snapshots, that the replay clock
        should not run through)."""
        self._anchor = (self.position, self._pacing.monotonic())

    def pause(self) -> None:
        """Stop the clock where the last frame left it."""
        self.paused = True
        self._changed.set()

    def play(self) -> None:
        """Start the clock again."""
        if self.paused:
            self.paused = False
            self._anchor = (self._delivered, self._pacing.monotonic())
            self._changed.set()

    def set_speed(self, speed: float) -> None:
        """Change speed from the current position on."""
        speed = check_speed(speed)
        self._anchor = (self.position, self._pacing.monotonic())
        self.speed = speed
        self._changed.set()

    def seek(self, at: datetime) -> None:
        """Jump to `at` (within [start, end]); the next item out is `Seeked(at)`."""
        if not self.start <= at <= self.end:
            raise ValueError(f"seek within {self.start.isoformat()} … {self.end.isoformat()}")
        self._seek_to = at
        self._changed.set()

    def _apply_seek(self) -> Seeked:
        at = self._seek_to
        assert at is not None
        self._seek_to = None
        self._reader = _Reader(self._conn, self._tables, self.end, at)
        self._delivered = at
        self._anchor = (at, self._pacing.monotonic())
        return Seeked(at)

    async def next_control(self) -> None:
        """Wait until the client pauses, plays, seeks or changes speed (after the end, a
        seek makes iterating the replay hand out frames again)."""
        await self._wait(None)

    async def _wait(self, timeout: float | None) -> None:
        """Sleep up to `timeout` s of the pacing clock (forever with None), or until a control
        wakes us."""
        self._changed.clear()
        if timeout is None:
            await self._changed.wait()
            return
        woken = asyncio.ensure_future(self._changed.wait())
        slept = asyncio.ensure_future(self._pacing.sleep(timeout))
        try:
            await asyncio.wait((woken, slept), return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Also on cancellation: neither waiter may outlive this wait.
            woken.cancel()
            slept.cancel()
            await asyncio.wait((woken, slept))

    async def __aiter__(self) -> AsyncIterator[Frame | Seeked]:
        """Frames as the clock reaches them, and a `Seeked` after each seek; ends after the
        frame that reaches `end`."""
        while True:
            if self._seek_to is not None:
                yield self._apply_seek()
                continue
            if self.finished:
                return
            if self.paused:
                await self._wait(None)
                continue
            until = min(self._delivered + timedelta(seconds=self.speed * self._tick_s),
                        self.end)
            rows = await self._reader.take(until)
            while True:  # until the clock reaches `until`, or a seek voids the frame
                sim, wall = self._anchor
                due = wall + (until - sim).total_seconds() / self.speed
                delay = due - self._pacing.monotonic()
                if self._seek_to is None and not self.paused and delay <= 0:
                    break
                if self._seek_to is not None:
                    break
                await self._wait(None if self.paused else delay)
            if self._seek_to is not None:
                continue
            start, self._delivered = self._delivered, until
            yield Frame(start, until, rows)


def check_speed(speed: float) -> float:
    """A speed within 1×–3600× (ValueError otherwise)."""
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ValueError(f"speed must be between {MIN_SPEED:g} and {MAX_SPEED:g}")
    return float(speed)


# The live-state table, its columns and key, for each replayed feed's rows.
_LATEST: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "parking": ("parking_latest", ("time", "site_id", "vehicle_type", "district", "capacity",
                                   "occupied", "status", "lon", "lat"),
                ("site_id", "vehicle_type")),
    "signals": ("signal_status_latest", ("time", "signal_id", "state", "reason", "since",
                                         "district", "lon", "lat"), ("signal_id",)),
    "queues": ("queue_latest", ("time", "point_id", "counters_open", "waiting_total",
                                "waiting", "district", "lon", "lat"), ("point_id",)),
    "brt_vehicles": ("brt_vehicle_latest", ("time", "vehicle_id", "trip_id", "route_id",
                                            "direction_id", "stop_id", "stop_sequence",
                                            "status", "occupancy", "lon", "lat", "district"),
                     ("vehicle_id",)),
}
# The row kind the writer tags signal and queue rows with.
_KIND = {"signals": "status", "queues": "counters"}
# The live change an operator's action announces (the engine's actions are named as theirs).
_CHANGES = {"acknowledge": "acknowledged", "start": "in_progress", "resolve": "resolved",
            "close": "closed", "assign": "assigned", "comment": "commented"}


class ReplayWall:
    """The wall's state at the replay clock, on one connection with shadowed live tables
    (created by the caller with `create_shadow`)."""

    def __init__(self, conn: psycopg.AsyncConnection, coordinates: Coordinates,
                 layer: BoundaryLayer) -> None:
        self._conn = conn
        self._coordinates = coordinates
        self._layer = layer
        self._at: datetime | None = None
        self._where = {"parking": coordinates.lookup("parking"),
                       "signals": coordinates.lookup("signals"),
                       "queues": coordinates.lookup("service_points")}

    async def reset(self, at: datetime) -> None:
        """Load the state at `at`."""
        async with self._conn.transaction():
            await fill_shadow(self._conn, self._coordinates, at)
        self._at = at

    async def snapshot(self, stream: str) -> dict[str, Any]:
        """A live stream's snapshot body, as of the replay clock."""
        conn = self._conn
        if stream == "districts":
            parking = await district_parking(conn)
            return {"districts": [
                {"code": code,
                 "parking": parking.get(code, DistrictParking(code, 0, 0, 0, 0, None)).to_json()}
                for code in self._layer.codes]}
        if stream == "parking":
            return {"sites": await parking_sites(conn)}
        if stream == "queues":
            districts = await district_queues(conn)
            return {"districts": [{"code": c, "queues": q} for c, q in sorted(districts.items())],
                    "points": await queue_points(conn)}
        if stream == "signals":
            signals = await district_signals(conn)
            return {"districts": [{"code": c, "signals": d} for c, d in sorted(signals.items())],
                    "units": await signal_units(conn)}
        if stream == "brt":
            buses = await shadow_bus_ids(conn)
            return {"vehicles": await brt_vehicles(conn, vehicle_ids=buses) if buses else []}
        if stream == "situations":
            if self._at is None:
                raise ValueError("reset the replay wall to a time before taking snapshots")
            return {"situations": await situations_at(conn, self._at)}
        raise ValueError(f"unknown stream {stream!r}")

    def _writer_row(self, feed: str, row: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """A stored row in the form the writer hands to its delta functions."""
        stamped = (row[0].isoformat(timespec="microseconds"), *row[1:])
        if feed == "brt_vehicles":
            return stamped
        place = self._where[feed].get(row[1])
        if place is None and feed != "signals":
            return None  # not placed by the pack: the live state cannot hold it either
        lon, lat = place or (None, None)
        with_place = (*stamped, lon, lat)
        return (_KIND[feed], with_place) if feed in _KIND else with_place

    async def apply(self, frame: Frame) -> list[LiveDelta]:
        """Move the state forward by a frame's rows; the live deltas that announce it."""
        by_feed: dict[str, list[tuple[Any, ...]]] = {}
        for feed, row in frame.rows:
            converted = self._writer_row(feed, row)
            if converted is not None:
                by_feed.setdefault(feed, []).append(converted)
        deltas: list[LiveDelta] = []
        async with self._conn.transaction():
            for feed, rows in by_feed.items():
                table, columns, key = _LATEST[feed]
                plain = [r[1] if feed in _KIND else r for r in rows]
                await upsert_newest(self._conn, f"pg_temp.{table}", columns, key, plain)
                deltas.extend(await TABLES[feed].deltas(self._conn, rows))
            deltas.extend(await self._situation_deltas(frame))
        self._at = frame.end
        return deltas

    async def _situation_deltas(self, frame: Frame) -> list[LiveDelta]:
        """Each situation whose history moved within the frame, as it stood at its end."""
        cur = await self._conn.execute(
            "SELECT DISTINCT ON (situation_id) situation_id, action FROM situation_events"
            " WHERE time > %s AND time <= %s ORDER BY situation_id, time DESC, id DESC",
            (frame.start, frame.end))
        last: dict[int, str] = {int(sid): str(action) for sid, action in await cur.fetchall()}
        if not last:
            return []
        return [LiveDelta("situations", orjson.dumps(
                    {"change": _CHANGES.get(last[item["id"]], last[item["id"]]),
                     "situation": item}))
                for item in await situations_at(self._conn, frame.end, list(last))]

