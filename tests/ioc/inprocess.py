"""The real application run in this process (lifespan included), called over ASGI or,
with `served`, over real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from bench.serve import served
from ioc.app import create_app
from ioc.settings import Settings
from tests.auth import TEST_AUTH_SECRET

__all__ = ["app_settings", "in_process", "served"]


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

