"""Replays: every stored row of the range once and in order, at the asked speed, with pause,
seek and speed changes; over /ws/replay with the live protocol's messages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import orjson
import psycopg
import pytest
import websockets
from psycopg_pool import AsyncConnectionPool

from ioc.history.replay import Frame, Replay, Seeked
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
    conn = await _connect(db)
    async with conn:
        replay = Replay(conn, start, end, speed=1200)
        began = time.monotonic()
        frames = [item async for item in replay]
        elapsed = time.monotonic() - began
    assert all(isinstance(f, Frame) for f in frames)
    rows = [(feed, row[1], row[0]) for f in frames if isinstance(f, Frame)
            for feed, row in f.rows]
    assert sorted(rows, key=lambda r: r[2]) == rows
    assert sorted(rows) == sorted(await _stored(db, start, end))
    assert frames[-1].end == end  # type: ignore[union-attr]
    # An hour at 1200× is 3 s of wall time; generous bounds: behaviour, not a benchmark.
    assert 2.0 < elapsed < 6.0


async def test_frames_are_contiguous_and_each_row_lies_in_its_frame(
        pool: AsyncConnectionPool, db: str) -> None:
    conn = await _connect(db)
    async with conn:
        frames = [f async for f in Replay(conn, at(0), at(10), speed=3600)]
    previous = at(0)
    for frame in frames:
        assert isinstance(frame, Frame)
        assert frame.start == previous and frame.start < frame.end
        assert all(frame.start < row[0] <= frame.end for _, row in frame.rows)
        previous = frame.end


async def test_pause_stops_the_clock_and_play_resumes_it(
        pool: AsyncConnectionPool, db: str) -> None:
    conn = await _connect(db)
    async with conn:
        replay = Replay(conn, at(0), at(MINUTES), speed=600)
        frames = aiter(replay)
        await anext(frames)
        replay.pause()
        held = replay.position
        waiting = asyncio.ensure_future(anext(frames))
        await asyncio.sleep(0.5)  # 5 replay minutes at 600× had the clock been running
        assert not waiting.done() and replay.position == held
        replay.play()
        frame = await waiting
        assert isinstance(frame, Frame) and frame.start == held


async def test_a_seek_restarts_the_rows_from_the_seek_time(
        pool: AsyncConnectionPool, db: str) -> None:
    conn = await _connect(db)
    async with conn:
        replay = Replay(conn, at(0), at(MINUTES), speed=3600)
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
    conn = await _connect(db)
    async with conn:
        replay = Replay(conn, at(0), at(MINUTES), speed=1)
        frames = aiter(replay)
        await anext(frames)
        replay.set_speed(3600)
        began = time.monotonic()
        rest = [f async for f in frames]
        elapsed = time.monotonic() - began
    assert isinstance(rest[-1], Frame) and rest[-1].end == at(MINUTES)
    assert elapsed < 5.0  # an hour at 1× would take an hour
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
    return message["type"] == "replay_state" and message["finished"]


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

