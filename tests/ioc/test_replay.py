"""Replays: every stored row of the range once and in order, at the asked speed, with pause,
seek and speed changes; over /ws/replay with the live protocol's messages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest
import websockets
from psycopg_pool import AsyncConnectionPool

from ioc.history.replay import TICK_S, Frame, Pacing, Replay, Seeked
from ioc.storage.brt import write_positions
from ioc.storage.parking import write_parking
from ioc.storage.pool import open_pool
from tests.auth import access_token
from tests.ioc.inprocess import app_settings, served
from tests.ioc.test_state_at import (
    SITE_A,
    SITE_B,
    SITES,
    at,
    bus,
    district,
    parking,
)

MINUTES = 60  # one hour of fixture data, a reading a minute


@pytest.fixture
async def pool(db: str) -> AsyncIterator[AsyncConnectionPool]:
    """One hour of car park readings (two sites, every minute) and a bus every 10 s."""
    pool = await open_pool(db)
    async with pool.connection() as conn:
        await write_parking(conn, [parking(site, m, occupied=(m * 7 + i) % 100)
                                   for m in range(-5, MINUTES + 1)
                                   for i, site in enumerate((SITE_A, SITE_B))])
        await write_positions(conn, [bus("bus-1", s / 6, 105.80 + s / 10_000, 21.02)
                                     for s in range(0, MINUTES * 6 + 1)])
    yield pool
    await pool.close()


@dataclass
class Wall:
    """A wall clock that moves only when the replay sleeps on it (or the test moves it), and
    records every sleep the replay asks for."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        """The clock's reading, in seconds."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Record the sleep and move the clock by it at once."""
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    @property
    def pacing(self) -> Pacing:
        """This clock, as a replay's pacing."""
        return Pacing(monotonic=self.monotonic, sleep=self.sleep)


async def _connect(db: str) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(db, autocommit=True,
                                                 options="-c TimeZone=UTC")


async def _stored(db: str, start: datetime, end: datetime) -> list[tuple[str, Any, datetime]]:
    conn = await _connect(db)
    async with conn:
        cur = await conn.execute(
            "SELECT 'parking', site_id, time FROM parking_occupancy WHERE time > %s"
            " AND time <= %s UNION ALL SELECT 'brt_vehicles', vehicle_id, time"
            " FROM brt_vehicle_positions WHERE time > %s AND time <= %s ORDER BY 3",
            (start, end, start, end))
        return list(await cur.fetchall())


async def test_a_replay_hands_out_every_stored_row_once_in_order_at_its_speed(
        pool: AsyncConnectionPool, db: str) -> None:
    start, end = at(0), at(MINUTES)
    wall = Wall()
    began = wall.now
    conn = await _connect(db)
    async with conn:
        replay = Replay(conn, start, end, speed=1200, pacing=wall.pacing)
        arrivals = [(item, wall.now - began, replay.position) async for item in replay]
    frames = [f for f, _, _ in arrivals if isinstance(f, Frame)]
    assert len(frames) == len(arrivals)
    rows = [(feed, row[1], row[0]) for f in frames for feed, row in f.rows]
    assert sorted(rows, key=lambda r: r[2]) == rows
    assert sorted(rows) == sorted(await _stored(db, start, end))
    assert frames[-1].end == end
    # A frame is a tick of wall time, 120 replay seconds at 1200×, handed out once the wall
    # clock has moved by its span of replay time over the speed: the hour over 3 s in all.
    assert [f.end - f.start for f in frames] == [timedelta(seconds=120)] * 30
    for frame, waited, position in arrivals:
        assert isinstance(frame, Frame)
        assert waited == pytest.approx((frame.end - start).total_seconds() / 1200)
        assert position == frame.end
    assert sum(wall.sleeps) == pytest.approx(3.0)
    assert max(wall.sleeps) == pytest.approx(TICK_S)


async def test_frames_are_contiguous_and_each_row_lies_in_its_frame(
        pool: AsyncConnectionPool, db: str) -> None:
    conn = await _connect(db)
    async with conn:
        frames = [f async for f in Replay(conn, at(0), at(10), speed=3600,
                                          pacing=Wall().pacing)]
    previous = at(0)
    for frame in frames:
        assert isinstance(frame, Frame)
        assert frame.start == previous and frame.start < frame.end
        assert all(frame.start < row[0] <= frame.end for _, row in frame.rows)
        previous = frame.end


async def test_pause_stops_the_clock_and_play_resumes_it(
        pool: AsyncConnectionPool, db: str) -> None:
    wall = Wall()
    conn = await _connect(db)
    async with conn:
        replay = Replay(conn, at(0), at(MINUTES), speed=600, pacing=wall.pacing)
        frames = aiter(replay)
        await anext(frames)
        replay.pause()
        held = replay.position
        asked = len(wall.sleeps)
        waiting = asyncio.ensure_future(anext(frames))
        wall.now += 30.0  # 5 replay hours at 600× had the clock been running
        # Room for the replay to run on: unpaced, it would hand out the next frame at once.
        await asyncio.sleep(0.5)
        assert not waiting.done() and replay.position == held and len(wall.sleeps) == asked
        replay.play()
        resumed = wall.now
        frame = await waiting
    assert isinstance(frame, Frame) and frame.start == held
    assert frame.end - frame.start == timedelta(seconds=60)  # one tick at 600×
    assert wall.now - resumed == pytest.approx(TICK_S)  # the paused time was not replayed


async def test_a_seek_restarts_the_rows_from_the_seek_time(
        pool: AsyncConnectionPool, db: str) -> None:
    conn = await _connect(db)
    async with conn:
        replay = Replay(conn, at(0), at(MINUTES), speed=3600, pacing=Wall().pacing)
        frames = aiter(replay)
        await anext(frames)
        replay.seek(at(40))
        assert await anext(frames) == Seeked(at(40))
        rest = [f async for f in frames]
    rows = [row[0] for f in rest if isinstance(f, Frame) for _, row in f.rows]
    assert min(rows) > at(40) and max(rows) == at(MINUTES)
    assert len(rows) == len(await _stored(db, at(40), at(MINUTES)))


async def test_speed_changes_apply_from_the_current_position(
        pool: AsyncConnectionPool, db: str) -> None:
    wall = Wall()
    conn = await _connect(db)
    async with conn:
        replay = Replay(conn, at(0), at(MINUTES), speed=1, pacing=wall.pacing)
        frames = aiter(replay)
        first = await anext(frames)
        assert isinstance(first, Frame) and first.end - first.start == timedelta(seconds=TICK_S)
        replay.set_speed(3600)
        wall.sleeps.clear()
        changed = wall.now
        arrivals = [(f, wall.now - changed) async for f in frames]
    rest = [f for f, _ in arrivals if isinstance(f, Frame)]
    assert len(rest) == len(arrivals) and rest[0].start == first.end
    assert rest[-1].end == at(MINUTES)
    # From the change on, a tick is 6 replay minutes: the rest of the hour takes its span
    # over 3600 in wall time (about a second, where 1× would ask for an hour), tick by tick.
    assert [f.end - f.start for f in rest[:-1]] == [timedelta(seconds=360)] * (len(rest) - 1)
    for frame, waited in arrivals:
        assert isinstance(frame, Frame)
        assert waited == pytest.approx((frame.end - first.end).total_seconds() / 3600)
    assert sum(wall.sleeps) == pytest.approx((at(MINUTES) - first.end).total_seconds() / 3600)
    assert max(wall.sleeps) <= TICK_S + 1e-9
    with pytest.raises(ValueError, match="speed"):
        replay.set_speed(7200)


# -- over the socket ---------------------------------------------------------------------------


async def _messages(ws: Any, until: Any, limit: float = 30.0) -> list[dict[str, Any]]:
    """Messages received until one satisfies `until` (included)."""
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        message = orjson.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        out.append(message)
        if until(message):
            return out
    raise AssertionError(f"no such message in {limit} s; last: {out[-3:]}")


def _finished(message: dict[str, Any]) -> bool:
    return message["type"] == "replay_state" and bool(message["finished"])


def _ws(base: str, role: str) -> str:
    return base.replace("http://", "ws://") + f"/ws/replay?token={access_token(role)}"


async def test_the_socket_replays_each_reading_as_the_live_parking_delta(
        pool: AsyncConnectionPool, db: str, redis_url: str, redis_prefix: str) -> None:
    async with served(app_settings(db, redis_url, redis_prefix)) as base, \
            websockets.connect(_ws(base, "planner")) as ws:
        hello = orjson.loads(await ws.recv())
        assert hello["type"] == "hello" and hello["mode"] == "replay"
        await ws.send(orjson.dumps({"type": "replay", "start": at(0).isoformat(),
                                    "end": at(20).isoformat(), "speed": 600}).decode())
        messages = await _messages(ws, _finished)
    snapshots = {m["stream"]: m for m in messages if m["type"] == "snapshot"}
    assert set(snapshots) == {"districts", "parking", "signals", "queues", "brt", "situations"}
    first = {s["id"]: s["occupied"] for s in snapshots["parking"]["sites"]}
    assert first == {SITE_A: 0, SITE_B: 1}  # the readings at the start
    assert [v["id"] for v in snapshots["brt"]["vehicles"]] == ["bus-1"]
    deltas = [m for m in messages if m["type"] == "delta" and m["stream"] == "parking"]
    assert [m["seq"] for m in deltas] == list(range(1, len(deltas) + 1))
    # At 600× a frame is a replay minute: each stored reading arrives once, in order.
    seen = [(s["updated_at"], s["id"], s["occupied"]) for m in deltas for s in m["sites"]]
    stored = sorted((at(m).isoformat(), site, (m * 7 + i) % 100)
                    for m in range(1, 21) for i, site in enumerate((SITE_A, SITE_B)))
    assert sorted(seen) == stored and [t for t, _, _ in seen] == sorted(t for t, _, _ in seen)
    districts = [m for m in messages if m["type"] == "delta" and m["stream"] == "districts"]
    last = {d["code"]: d["parking"]["occupied"] for m in districts for d in m["districts"]}
    expected: dict[str, int] = {}
    for i, site in enumerate((SITE_A, SITE_B)):
        code = district(*SITES[site])
        expected[code] = expected.get(code, 0) + (20 * 7 + i) % 100
    assert last == expected


async def test_a_seek_over_the_socket_sends_the_state_at_the_seek_time(
        pool: AsyncConnectionPool, db: str, redis_url: str, redis_prefix: str) -> None:
    async with served(app_settings(db, redis_url, redis_prefix)) as base, \
            websockets.connect(_ws(base, "planner")) as ws:
        await ws.recv()
        await ws.send(orjson.dumps({"type": "replay", "start": at(0).isoformat(),
                                    "end": at(MINUTES).isoformat(), "speed": 1}).decode())
        await _messages(ws, lambda m: m["type"] == "replay_state")
        await ws.send(orjson.dumps({"type": "pause"}).decode())
        await _messages(ws, lambda m: m["type"] == "replay_state" and m["paused"])
        await ws.send(orjson.dumps({"type": "seek", "at": at(30).isoformat()}).decode())
        messages = await _messages(ws, lambda m: m["type"] == "snapshot" and m["stream"] == "brt")
    parking_snapshot = next(m for m in messages
                            if m["type"] == "snapshot" and m["stream"] == "parking")
    assert {s["id"]: s["occupied"] for s in parking_snapshot["sites"]} \
        == {SITE_A: (30 * 7) % 100, SITE_B: (30 * 7 + 1) % 100}
    state = next(m for m in messages if m["type"] == "replay_state")
    assert datetime.fromisoformat(state["position"]) == at(30) and state["paused"]
    brt = messages[-1]["vehicles"]
    assert [(v["id"], v["lon"]) for v in brt] == [("bus-1", pytest.approx(105.80 + 180 / 10_000))]


async def _situation(conn: psycopg.AsyncConnection, title: str, opened: float,
                     *moves: tuple[float, str, str, str]) -> int:
    """A stored situation opened at minute `opened`, and its (minute, actor, action, status)
    moves after it, as the engine and the operators would have left them."""
    resolved = next((m for m, _, _, status in moves if status == "resolved"), None)
    row = await (await conn.execute(
        "INSERT INTO situations (type, severity, base_severity, status, title, title_en,"
        " rule_id, asset_kind, asset_id, district, lon, lat, opened_at, resolved_at)"
        " VALUES ('signal_fault', 'major', 'major', %s, %s, %s, 'signal-flash', 'signal', %s,"
        " '001', 105.83, 21.03, %s, %s) RETURNING id",
        (moves[-1][3] if moves else "open", title, title, f"sig-{title}", at(opened),
         None if resolved is None else at(resolved)))).fetchone()
    assert row is not None
    for minute, actor, action, status in ((opened, "system", "opened", "open"), *moves):
        await conn.execute(
            "INSERT INTO situation_events (situation_id, time, actor, action, to_status)"
            " VALUES (%s, %s, %s, %s, %s)", (row[0], at(minute), actor, action, status))
    return int(row[0])


async def test_a_replay_shows_the_situations_open_at_its_start_then_their_changes(
        pool: AsyncConnectionPool, db: str, redis_url: str, redis_prefix: str) -> None:
    async with pool.connection() as conn:
        across = await _situation(conn, "across", -10)
        during = await _situation(conn, "during", 5, (8, "minh.tran", "acknowledge",
                                                      "acknowledged"),
                                  (12, "minh.tran", "resolve", "resolved"))
        await _situation(conn, "over before", -30, (-20, "system", "resolved", "resolved"))
    async with served(app_settings(db, redis_url, redis_prefix)) as base, \
            websockets.connect(_ws(base, "planner")) as ws:
        await ws.recv()
        await ws.send(orjson.dumps({"type": "replay", "start": at(0).isoformat(),
                                    "end": at(15).isoformat(), "speed": 600}).decode())
        messages = await _messages(ws, _finished)
    [snapshot] = [m for m in messages if m["type"] == "snapshot" and m["stream"] == "situations"]
    assert [(s["id"], s["status"]) for s in snapshot["situations"]] == [(across, "open")]
    deltas = [(m["change"], m["situation"]["id"], m["situation"]["status"]) for m in messages
              if m["type"] == "delta" and m["stream"] == "situations"]
    assert deltas == [("opened", during, "open"), ("acknowledged", during, "acknowledged"),
                      ("resolved", during, "resolved")]


async def test_bad_control_messages_get_errors_and_the_socket_lives_on(
        pool: AsyncConnectionPool, db: str, redis_url: str, redis_prefix: str) -> None:
    async with served(app_settings(db, redis_url, redis_prefix)) as base, \
            websockets.connect(_ws(base, "planner")) as ws:
        await ws.recv()
        bad = ["not json", "[1]", '{"type": "rewind"}', '{"type": "pause"}',
               '{"type": "replay", "start": "yesterday", "end": "today"}',
               orjson.dumps({"type": "replay", "start": at(10).isoformat(),
                             "end": at(0).isoformat()}).decode(),
               orjson.dumps({"type": "replay", "start": at(0).isoformat(),
                             "end": at(10).isoformat(), "speed": 10_000}).decode()]
        codes = []
        for text in bad:
            await ws.send(text)
            codes.append((await _messages(ws, lambda m: m["type"] == "error"))[-1]["code"])
        assert codes == ["bad_json", "bad_json", "unknown_type", "not_started", "bad_time",
                         "bad_range", "bad_speed"]
        await ws.send(orjson.dumps({"type": "replay", "start": at(0).isoformat(),
                                    "end": at(1).isoformat(), "speed": 3600}).decode())
        await ws.send(orjson.dumps({"type": "seek", "at": at(90).isoformat()}).decode())
        messages = await _messages(ws, lambda m: m["type"] == "error")
        assert messages[-1]["code"] == "bad_seek"
        if not any(_finished(m) for m in messages):
            messages = await _messages(ws, _finished)
        assert next(m for m in messages if _finished(m))["position"] == at(1).isoformat()


async def test_only_planners_may_replay(
        pool: AsyncConnectionPool, db: str, redis_url: str, redis_prefix: str) -> None:
    async with served(app_settings(db, redis_url, redis_prefix)) as base:
        with pytest.raises(websockets.exceptions.WebSocketException) as refused:
            async with websockets.connect(_ws(base, "viewer")) as ws:
                await ws.recv()
        assert "1008" in str(refused.value) or "403" in str(refused.value)

