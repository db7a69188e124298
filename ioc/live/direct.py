"""Synchronous frame writes for /ws/live, through uvicorn's sans-I/O WebSocket protocol.

ASGI's `send` is a coroutine that runs through Starlette's layers, and the live fan-out used
to wake each client's sender task for every frame: for one delta to a thousand clients, that
cost several times the write itself. `LiveWebSocketProtocol` (the API server's WebSocket
protocol, see ioc.commands) puts a `FrameWriter` in the connection's ASGI scope, under the
extension `ioc.websocket.write`, so that the hub writes a frame straight to the socket's
transport, without a task hop, whenever nothing is queued before it and the transport is not
backed up. The handshake, reads and the close still go through ASGI. Under a server without
the extension, /ws/live sends through ASGI alone.
"""

from __future__ import annotations

import socket
from asyncio import BaseTransport
from collections.abc import Mapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

EXTENSION = "ioc.websocket.write"
# Enough for several seconds of a busy subscription; the kernel doubles it for bookkeeping.
SEND_BUFFER_BYTES = 256 * 1024


class FrameWriter:
    """Writes text frames to one WebSocket connection now, without awaiting."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    def ready(self) -> bool:
        """Whether a frame written now goes straight out: open, and the transport not paused
        (its buffer under the high-water mark)."""
        p = self._protocol
        return p.writable.is_set() and not (p.close_sent or p.disconnected)

    def write(self, frame: bytes) -> None:
        """Write one text frame (UTF-8 JSON); ConnectionError once the connection is closed."""
        p = self._protocol
        if p.close_sent or p.disconnected:
            raise ConnectionError("the WebSocket is closed")
        try:
            p.conn.send_text(frame)
        except InvalidState as err:
            raise ConnectionError(str(err)) from err
        p.transport.write(b"".join(p.conn.data_to_send()))

    async def drain(self) -> None:
        """Wait until the transport takes more (at once when it is not paused)."""
        await self._protocol.writable.wait()


class LiveWebSocketProtocol(WebSocketsSansIOProtocol):
    """Uvicorn's sans-I/O WebSocket protocol, offering a `FrameWriter` to the application."""

    def connection_made(self, transport: BaseTransport) -> None:
        """Cap the kernel's send buffer, so that a client that stops reading backs up into
        the application's queue (where its backlog is coalesced, or it is disconnected)
        rather than into megabytes the kernel would still deliver late."""
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        super().connection_made(transport)

    async def run_asgi(self) -> None:
        """Run the application with the writer in `scope["extensions"]`."""
        self.scope.setdefault("extensions", {})[EXTENSION] = {"writer": FrameWriter(self)}
        await super().run_asgi()


def frame_writer(scope: Mapping[str, Any]) -> FrameWriter | None:
    """The connection's writer, when the server offers one."""
    extension = (scope.get("extensions") or {}).get(EXTENSION)
    writer = extension.get("writer") if isinstance(extension, dict) else None
    return writer if isinstance(writer, FrameWriter) else None
