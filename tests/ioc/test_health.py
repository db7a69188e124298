"""/api/health answers 503 while the database or Redis is unreachable, and says which."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import psycopg

from ioc.embedded import EmbeddedRedis
from tests.auth import bearer
from tests.ioc.inprocess import app_settings, in_process
from tests.ioc.scrape import samples, value
from tests.ioc.server import free_port

GUARD = 60.0  # a hang guard: the wait ends as soon as the service answers 200 again


async def _back_to_200(client: httpx.AsyncClient) -> None:
    async with asyncio.timeout(GUARD):
        while (await client.get("/api/health")).status_code != 200:
            await asyncio.sleep(0.25)


async def test_health_answers_503_while_redis_is_down(db: str, tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    url = server.start()
    try:
        async with in_process(app_settings(db, url, "health")) as (_, client):
            assert (await client.get("/api/health")).status_code == 200
            server.stop()
            down = await client.get("/api/health")
            assert down.status_code == 503
            body = down.json()
            assert body["status"] == "degraded" and body["database"]["ok"]
            assert not body["redis"]["ok"] and body["redis"]["error"]
            metrics = samples((await client.get("/metrics", headers=bearer("admin"))).text)
            assert value(metrics, "ioc_dependency_up", dependency="redis") == 0
            assert value(metrics, "ioc_dependency_up", dependency="database") == 1
            server.start()
            await _back_to_200(client)
    finally:
        server.stop()


async def test_health_answers_503_while_the_database_refuses_connections(
    db: str, redis_url: str, redis_prefix: str, servers: tuple[str, str]
) -> None:
    name = psycopg.conninfo.conninfo_to_dict(db)["dbname"]
    with psycopg.connect(servers[0], autocommit=True) as admin:
        try:
            async with in_process(app_settings(db, redis_url, redis_prefix)) as (_, client):
                assert (await client.get("/api/health")).status_code == 200
                # Nobody may connect any more, and the pool's connections are cut.
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                              " WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
                down = await client.get("/api/health")
                assert down.status_code == 503
                body = down.json()
                assert not body["database"]["ok"] and body["database"]["error"]
                assert body["redis"]["ok"] and body["status"] == "degraded"
                metrics = samples((await client.get("/metrics", headers=bearer("admin"))).text)
                assert value(metrics, "ioc_dependency_up", dependency="database") == 0
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                await _back_to_200(client)
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
