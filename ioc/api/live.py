"""/ws/live: a snapshot of each followed stream, then deltas with sequence numbers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ioc.api.deps import WsState
from ioc.hub import STREAMS, LiveClient, delta_frame
from ioc.snapshots import (
    brt_snapshot,
    districts_snapshot,
    parking_snapshot,
    queues_snapshot,
    signals_snapshot,
)
from ioc.state import AppState

logger = logging.getLogger(__name__)
router = APIRouter()

HEARTBEAT_S = 15.0
MAX_OVERFLOWS = 20


async def _snapshot(state: AppState, stream: str) -> dict[str, Any]:
    if stream == "districts":
        return await districts_snapshot(state.pool, state.layer)
    if stream == "queues":
        return await queues_snapshot(state.pool)
    if stream == "brt":
        return await brt_snapshot(state.pool)
    if stream == "signals":
        return await signals_snapshot(state.pool)
    return await parking_snapshot(state.pool)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class _Session:
    """One connection's sender: snapshots first, then deltas newer than each snapshot."""

    def __init__(self, websocket: WebSocket, state: AppState, client: LiveClient) -> None:
        self.ws = websocket
        self.state = state
        self.client = client
        self.seen: dict[str, int] = {}

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_text(orjson.dumps(message).decode())

    async def snapshot(self, stream: str) -> None:
        # The sequence is read before the query: a delta racing the query is newer than
        # `seq` and is sent after; its absolute values make applying it twice harmless.
        seq = await self.state.bus.current_seq(stream)
        body = await _snapshot(self.state, stream)
        self.seen[stream] = seq
        await self.send({"type": "snapshot", "stream": stream, "seq": seq, **body})

    async def pump(self) -> None:
        for stream in sorted(self.client.streams):
            await self.snapshot(stream)
        while True:
            if self.client.overflows > MAX_OVERFLOWS:
                await self.ws.close(code=1013, reason="client too slow; reconnect later")
                return
            for stream in sorted(self.client.stale):
                self.client.stale.discard(stream)
                await self.snapshot(stream)
            try:
                message = self.client.queue.get_nowait()
            except asyncio.QueueEmpty:
                self.client.wake.clear()
                try:
                    await asyncio.wait_for(self.client.wake.wait(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    await self.send({"type": "heartbeat", "server_time": _now()})
                continue
            if message.seq > self.seen.get(message.stream, 0):
                self.seen[message.stream] = message.seq
                await self.ws.send_text(delta_frame(message).decode())

    async def listen(self) -> None:
        while True:
            text = await self.ws.receive_text()
            await self.handle(text)

    async def handle(self, text: str) -> None:
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            await self.error("bad_json", "messages must be JSON objects")
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ping":
            await self.send({"type": "pong", "server_time": _now()})
        elif kind == "subscribe":
            streams = message.get("streams")
            if not isinstance(streams, list) or not set(streams) <= set(STREAMS):
                await self.error("bad_streams", f"streams must be a list drawn from {STREAMS}")
                return
            self.client.streams = set(streams)
            self.client.mark_stale(streams)
        else:
            await self.error("unknown_type", f"unknown message type {kind!r}")

    async def error(self, code: str, reason: str) -> None:
        await self.send({"type": "error", "code": code, "reason": reason})


@router.websocket("/ws/live")
async def live(websocket: WebSocket, state: WsState) -> None:
    """Stream live state: hello, a snapshot per stream, then deltas and heartbeats."""
    await websocket.accept()
    client = state.hub.connect(STREAMS)
    session = _Session(websocket, state, client)
    try:
        await session.send({"type": "hello", "protocol": 1, "server_time": _now(),
                            "streams": list(STREAMS)})
        listener = asyncio.create_task(session.listen())
        pump = asyncio.create_task(session.pump())
        done, pending = await asyncio.wait({listener, pump}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await task
        for task in done:
            error = task.exception()
            if error is not None and not isinstance(error, WebSocketDisconnect):
                logger.info("live client dropped: %s", error)
    except WebSocketDisconnect:
        pass
    finally:
        state.hub.disconnect(client)
