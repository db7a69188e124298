"""The live hub's tasks are supervised: a listener that raises is restarted, counted in
/metrics, shown in /api/health, and its clients keep receiving live frames."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
import websockets
from fastapi import FastAPI
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection

from ioc.app import create_app
from ioc.bus import RedisBus
from ioc.live.direct import LiveWebSocketProtocol
from ioc.live.hub import LISTENER, Delta
from ioc.settings import Settings
from tests.auth import access_token, bearer
from tests.ioc.inprocess import app_settings
from tests.ioc.scrape import samples, value

GUARD = 30.0  # a hang guard: every wait ends as soon as its condition holds
SITE = "hk-ly-thuong-kiet"


@asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[tuple[FastAPI, str]]:
    """The real app on a real socket in this process, with the app at hand."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", ws=LiveWebSocketProtocol))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(GUARD):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
        yield app, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _next(ws: ClientConnection, where: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    async with asyncio.timeout(GUARD):
        while True:
            message: dict[str, Any] = orjson.loads(await ws.recv())
            if where(message):
                return message


async def test_a_listener_that_raises_is_restarted_counted_and_its_clients_served_on(
    db: str, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis = Redis.from_url(redis_url)
    bus = RedisBus(redis, redis_prefix)
    try:
        async with _serving(app_settings(db, redis_url, redis_prefix)) as (app, base):
            hub = app.state.ioc.hub
            dispatch = hub.dispatch
            failures: list[int] = []

            def dispatch_failing_once(delta: Delta) -> None:
                if not failures:
                    failures.append(delta.seq)
                    raise RuntimeError("a bug met this delta")
                dispatch(delta)

            monkeypatch.setattr(hub, "dispatch", dispatch_failing_once)

            async def scrape() -> dict[str, Any]:
                async with httpx.AsyncClient(base_url=base) as http:
                    metrics = samples((await http.get("/metrics", headers=bearer("admin"))).text)
                    health = (await http.get("/api/health")).json()
                return {"restarts": value(metrics, "ioc_task_restarts_total", task=LISTENER) or 0,
                        "health": health}

            before = await scrape()
            ws_url = f"{base.replace('http', 'ws')}/ws/live?subscribe=none&token="
            async with websockets.connect(ws_url + access_token("viewer")) as ws:
                await ws.send(orjson.dumps({"type": "subscribe", "id": "p",
                                            "streams": ["parking"]}).decode())
                await _next(ws, lambda m: m["type"] == "snapshot")
                site = {"id": SITE, "district": "002", "capacity": 100, "status": "open"}
                broken = await bus.publish_live(
                    "parking", orjson.dumps({"sites": [{**site, "occupied": 1}]}))
                # Restarted, the listener takes the stream again and sends a fresh snapshot.
                resynced = await _next(ws, lambda m: m["type"] == "snapshot")
                assert resynced["reason"] == "resync" and failures == [broken]
                seq = await bus.publish_live(
                    "parking", orjson.dumps({"sites": [{**site, "occupied": 2}]}))
                delta = await _next(ws, lambda m: m["type"] == "delta")
                assert (delta["seq"], delta["sites"]) == (seq, [{**site, "occupied": 2}])
            after = await scrape()
    finally:
        await redis.aclose()
    assert after["restarts"] == before["restarts"] + 1
    health = after["health"]
    [listener] = [t for t in health["tasks"][health["process"]] if t["name"] == LISTENER]
    assert listener["state"] == "running" and listener["restarts"] == 1
    assert "a bug met this delta" in listener["last_error"]
    assert f"parking/{broken}" in listener["last_error"]
