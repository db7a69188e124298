"""The real API application served by uvicorn inside a benchmark's (or test's) own process."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from ioc.app import create_app
from ioc.auth.roles import Principal, Role
from ioc.auth.tokens import issue
from ioc.live.direct import LiveWebSocketProtocol
from ioc.settings import Settings

SECRET = "bench-only-token-signing-secret-0123456789"


def token(role: Role, secret: str = SECRET) -> str:
    """An hour's access token for a user of `role`."""
    return issue(secret, Principal(f"bench-{role.value}", role), "access", 3600)


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[str]:
    """Serve the app (lifespan, WebSockets and all) on a free port; yield its http:// URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            log_level="warning", ws=LiveWebSocketProtocol, lifespan="on",
                            ws_per_message_deflate=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
