"""/ws/live, the live protocol of docs/live-protocol.md, and this process's live figures."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ioc.api.deps import State, Viewer, WsState, WsViewer
from ioc.live.direct import frame_writer
from ioc.live.protocol import CLOSE_TOO_SLOW
from ioc.live.sender import Session

logger = logging.getLogger(__name__)
router = APIRouter()


@router.websocket("/ws/live")
async def live(websocket: WebSocket, state: WsState, principal: WsViewer) -> None:
    """Live state: `hello`, then snapshots and deltas of each subscription, and heartbeats.

    Without `?subscribe=none` the connection starts with the subscription `default` to
    every stream of the whole city, which is what the wall needs.
    """
    await websocket.accept()
    hub = state.hub
    client = hub.connect(principal.username)

    writer = frame_writer(websocket.scope)
    if writer is not None:
        direct = writer

        async def send(frame: bytes) -> None:
            await direct.drain()
            direct.write(frame)

        client.writer = writer
    else:

        async def send(frame: bytes) -> None:
            await websocket.send_text(frame.decode())

    session = Session(hub, client, send)

    async def read() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text")
            session.handle(data if data is not None else message.get("bytes") or b"")

    async def kicked() -> None:
        await client.closing.wait()

    tasks: list[asyncio.Task[None]] = []
    try:
        await send(session.hello())
        if websocket.query_params.get("subscribe") != "none":
            session.subscribe("default", {"type": "subscribe"}, announce=False)
        tasks = [asyncio.create_task(read(), name="live-read"),
                 asyncio.create_task(session.pump(), name="live-send"),
                 asyncio.create_task(kicked(), name="live-kick")]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, OSError):
                await task
        for task in done:
            if task.cancelled():
                continue
            error = task.exception()
            if error is not None and not isinstance(error, WebSocketDisconnect | OSError):
                logger.warning("live client failed: %r", error)
        if client.kicked is not None:
            # The close frame waits behind what the client has not read; give it a while.
            with contextlib.suppress(TimeoutError, RuntimeError, OSError, WebSocketDisconnect):
                await asyncio.wait_for(
                    websocket.close(CLOSE_TOO_SLOW, client.kicked[:120]),
                    timeout=max(5.0, hub.settings.slow_client_s),
                )
    except WebSocketDisconnect:
        pass
    finally:
        for task in tasks:
            task.cancel()
        hub.disconnect(client)


@router.get("/api/live/stats")
async def live_stats(state: State, principal: Viewer) -> dict[str, Any]:
    """This API process's live figures: clients, subscriptions, streams, disconnections."""
    return state.hub.stats()
