"""The real application run in this process (lifespan included), called over ASGI."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from ioc.app import create_app
from ioc.settings import Settings
from tests.auth import TEST_AUTH_SECRET


def app_settings(db: str, redis_url: str, redis_prefix: str, **overrides: Any) -> Settings:
    """Settings for an in-process app on the test database and the test's Redis prefix."""
    return Settings(
        database={"url": db}, redis={"url": redis_url, "prefix": redis_prefix},
        auth={"secret": TEST_AUTH_SECRET}, feeds=["parking"], **overrides,
    )


@asynccontextmanager
async def in_process(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Start the app's lifespan and yield it with a client that calls it directly."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://ioc.test") as client:
            yield app, client


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[str]:
    """The real app served by uvicorn in this process, over real sockets (WebSockets
    included); yields its http:// base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            log_level="warning", ws="websockets-sansio", lifespan="on")
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
