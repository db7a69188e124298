"""The time machine: the city at a chosen moment, and replays over the live protocol.

`GET /api/history/state?at=&layer=` answers with every asset's last known value at or before
`at`, the situations open at `at`, and every area's figures and KPIs at `at`.

`/ws/replay?token=` speaks the live socket's messages (hello, snapshot, delta with a
sequence per stream, heartbeat, error with code and reason, ping/pong, subscribe), so the
dashboard applies a replay with the same code as live data. The client starts a replay with
`{"type": "replay", "start": ISO, "end": ISO, "speed": 1..3600}` and steers it with
`{"type": "pause"}`, `{"type": "play"}`, `{"type": "seek", "at": ISO}` and
`{"type": "speed", "speed": x}`. The server sends a snapshot of each followed stream as of
the start (and again after each seek), deltas as the replay clock passes the stored rows,
and `replay_state` messages (position, speed, paused, finished) after each control and once
a second while playing. A malformed message gets an error; the connection stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import psycopg
from fastapi import APIRouter, Depends, HTTPException, Query, WebSocket, WebSocketDisconnect

from geo import AreaIndex, BoundaryLayer, CityPack, PackError
from ioc.api.deps import Planner, State, WsState, require_ws
from ioc.auth.roles import Principal, Role
from ioc.history.replay import STREAMS, Frame, Pacing, Replay, ReplayWall
from ioc.history.state_at import Coordinates, create_shadow, state_at
from ioc.live import protocol
from ioc.state import AppState

logger = logging.getLogger(__name__)
router = APIRouter(tags=["time machine"])

WsPlanner = Annotated[Principal, Depends(require_ws(Role.PLANNER))]
HEARTBEAT_S = 15.0
STATE_EVERY_S = 1.0
MAX_REPLAYS = 16  # per API process: each replay holds a database connection of its own
# Replays run on the machine's wall time, never the city clock: a time-lapse city must not
# speed up a replay the planner asked for at a given speed.
WALL_PACING = Pacing(monotonic=time.monotonic, sleep=asyncio.sleep)

_coordinates: dict[Path, Coordinates] = {}
_active = [0]


def coordinates(pack: CityPack) -> Coordinates:
    """The pack's asset coordinates, read once per pack folder."""
    if pack.root not in _coordinates:
        _coordinates[pack.root] = Coordinates.of(pack)
    return _coordinates[pack.root]


def _layer(state: AppState, name: str | None) -> tuple[str, BoundaryLayer, AreaIndex]:
    chosen = name or state.pack.default_layer
    try:
        layer, index = state.layers.get(chosen)
    except PackError as err:
        raise HTTPException(404, str(err)) from err
    return chosen, layer, index


@router.get("/api/history/state")
async def history_state(
    state: State, _user: Planner,
    at: Annotated[datetime, Query(description="the moment, ISO 8601 with its UTC offset")],
    layer: Annotated[str | None, Query(description="boundary layer (default: the pack's)")]
    = None,
) -> dict[str, Any]:
    """The city at `at`: each asset's last known value at or before it (looked for within
    a staleness window per feed, given in the answer), situations open at it, and every
    area's figures and KPIs computed with the live formulas."""
    if at.tzinfo is None:
        raise HTTPException(422, "`at` needs a UTC offset, e.g. 2025-03-04T08:00:00+07:00")
    name, _, index = _layer(state, layer)
    async with state.pool.connection() as conn:
        return await state_at(conn, state.pack, name, index, coordinates(state.pack), at)


class BadRequest(ValueError):
    """A client message the replay cannot act on: its error code and reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def _moment(message: dict[str, Any], key: str) -> datetime:
    value = message.get(key)
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadRequest("bad_time", f"{key!r} must be an ISO 8601 time with a UTC offset")
    return moment


def _speed(message: dict[str, Any], default: float | None = None) -> float:
    value = message.get("speed", default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 3600:
        raise BadRequest("bad_speed", "speed must be a number from 1 to 3600")
    return float(value)


async def _connect(url: str) -> psycopg.AsyncConnection:
    """A replay's own connection; one still opening when its client leaves is closed once
    open, not left to the garbage collector."""
    opening = asyncio.ensure_future(psycopg.AsyncConnection.connect(
        url, autocommit=True, prepare_threshold=None, options="-c TimeZone=UTC"))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_opened)
        raise


def _close_opened(opening: asyncio.Future[psycopg.AsyncConnection]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        asyncio.ensure_future(opening.result().close())


class _ReplaySession:
    """One replay socket: the control listener, the frame pump, and the ticker."""

    def __init__(self, websocket: WebSocket, state: AppState) -> None:
        self.ws = websocket
        self.state = state
        self.streams: set[str] = set(STREAMS)
        self.seq = dict.fromkeys(STREAMS, 0)
        self.replay: Replay | None = None
        self.pump: asyncio.Task[None] | None = None
        self.conn: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self._last_sent = time.monotonic()

    async def send_bytes(self, data: bytes) -> None:
        async with self._lock:
            await self.ws.send_text(data.decode())
            self._last_sent = time.monotonic()

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_bytes(orjson.dumps(message))

    async def error(self, code: str, reason: str) -> None:
        await self.send({"type": "error", "code": code, "reason": reason})

    async def send_state(self) -> None:
        replay = self.replay
        if replay is None:
            return
        await self.send({
            "type": "replay_state", "position": replay.position.isoformat(),
            "start": replay.start.isoformat(), "end": replay.end.isoformat(),
            "speed": replay.speed, "paused": replay.paused, "finished": replay.finished,
        })

    # -- the client's messages -------------------------------------------------------------

    async def listen(self) -> None:
        while True:
            text = await self.ws.receive_text()
            try:
                await self.handle(text)
            except BadRequest as bad:
                await self.error(bad.code, str(bad))

    async def handle(self, text: str) -> None:
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise BadRequest("bad_json", "messages must be JSON objects") from None
        if not isinstance(message, dict):
            raise BadRequest("bad_json", "messages must be JSON objects")
        kind = message.get("type")
        if kind == "ping":
            await self.send({"type": "pong", "server_time": protocol.now(self.state.clock)})
        elif kind == "replay":
            await self.start(message)
        elif kind == "subscribe":
            streams = message.get("streams")
            if not isinstance(streams, list) or not set(streams) <= set(STREAMS):
                raise BadRequest("bad_streams", f"streams must be a list drawn from {STREAMS}")
            self.streams = set(streams)
            if self.replay is not None:  # fresh snapshots of what is followed now
                self.replay.seek(self.replay.position)
        elif kind in ("pause", "play", "seek", "speed"):
            await self.control(kind, message)
        else:
            raise BadRequest("unknown_type", f"unknown message type {kind!r}")

    async def control(self, kind: str, message: dict[str, Any]) -> None:
        replay = self.replay
        if replay is None:
            raise BadRequest("not_started", 'start a replay first: {"type": "replay", ...}')
        if kind == "pause":
            replay.pause()
        elif kind == "play":
            replay.play()
        elif kind == "speed":
            replay.set_speed(_speed(message))
        else:
            at = _moment(message, "at")
            try:
                replay.seek(at)
            except ValueError as err:
                raise BadRequest("bad_seek", str(err)) from None
        await self.send_state()

    async def start(self, message: dict[str, Any]) -> None:
        start, end = _moment(message, "start"), _moment(message, "end")
        speed = _speed(message, 60.0)
        if not start < end:
            raise BadRequest("bad_range", "start must come before end")
        await self.stop()
        self.conn = await _connect(str(self.state.settings.database.url))
        await create_shadow(self.conn)
        self.replay = Replay(self.conn, start, end, speed, pacing=WALL_PACING)
        self.pump = asyncio.create_task(self.run(self.replay, self.conn))

    async def stop(self) -> None:
        pump, self.pump = self.pump, None
        conn, self.conn, self.replay = self.conn, None, None
        try:
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
        finally:
            if conn is not None:
                # Closed even when the session is cancelled meanwhile (a server shutting
                # down), so no connection is left to the garbage collector.
                await asyncio.shield(conn.close())

    # -- what the server sends -------------------------------------------------------------

    def frame(self, kind: str, stream: str, body: bytes) -> bytes:
        """A snapshot or delta frame, as the live socket frames its default subscription."""
        return protocol.head(kind, "default") + protocol.tail(stream, self.seq[stream], body)

    async def snapshots(self, wall: ReplayWall) -> None:
        for stream in STREAMS:
            if stream in self.streams:
                body = orjson.dumps(await wall.snapshot(stream))
                await self.send_bytes(self.frame("snapshot", stream, body))

    async def run(self, replay: Replay, conn: psycopg.AsyncConnection) -> None:
        try:
            await self.play(replay, conn)
        except (psycopg.Error, OSError) as err:
            logger.warning("replay failed: %s", err)
            await self.error("replay_failed", "the replay stopped: the database failed")

    async def play(self, replay: Replay, conn: psycopg.AsyncConnection) -> None:
        wall = ReplayWall(conn, coordinates(self.state.pack), self.state.layer)
        await wall.reset(replay.start)
        await self.snapshots(wall)
        replay.restart_clock()  # the snapshots took no replay time
        await self.send_state()
        while True:  # after the end, the client may seek back and play again
            async for item in replay:
                if isinstance(item, Frame):
                    for delta in await wall.apply(item):
                        self.seq[delta.stream] += 1
                        if delta.stream in self.streams:
                            await self.send_bytes(self.frame("delta", delta.stream, delta.body))
                else:
                    await wall.reset(item.at)
                    await self.snapshots(wall)
            await self.send_state()
            await replay.next_control()

    async def tick(self) -> None:
        """The replay's position once a second while it plays; heartbeats when idle."""
        while True:
            await asyncio.sleep(STATE_EVERY_S)
            replay = self.replay
            if replay is not None and not replay.paused and not replay.finished:
                await self.send_state()
            elif time.monotonic() - self._last_sent >= HEARTBEAT_S:
                await self.send({"type": "heartbeat",
                                 "server_time": protocol.now(self.state.clock)})


@router.websocket("/ws/replay")
async def replay_socket(websocket: WebSocket, state: WsState, _user: WsPlanner) -> None:
    """Replay stored history over the live protocol, with pause, seek and speed."""
    await websocket.accept()
    if _active[0] >= MAX_REPLAYS:
        await websocket.close(code=1013, reason="too many replays running; try again later")
        return
    _active[0] += 1
    session = _ReplaySession(websocket, state)
    try:
        await session.send({"type": "hello", "protocol": protocol.PROTOCOL, "mode": "replay",
                            "server_time": protocol.now(state.clock),
                            "streams": list(STREAMS), "speeds": [1, 3600]})
        tasks = {asyncio.create_task(session.listen()), asyncio.create_task(session.tick())}
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await task
        for task in done:
            error = task.exception()
            if error is not None and not isinstance(error, WebSocketDisconnect):
                logger.info("replay client dropped: %s", error)
    except WebSocketDisconnect:
        pass
    finally:
        _active[0] -= 1
        await session.stop()
