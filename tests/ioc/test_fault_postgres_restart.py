"""Fault: PostgreSQL restarts (a private one) while feeds push.

Accepted batches wait on the bus while the database is away; the writer resumes by itself
and stores each of them once; /api/health reports the database down while it is.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from redis.asyncio import Redis

from ioc.bus import RedisBus
from ioc.embedded import EmbeddedPostgres
from ioc.storage.migrate import upgrade
from ioc.storage.pool import open_pool
from ioc.writer import Writer
from tests.ioc.fault_tools import Producer, stored, stored_or_none, until
from tests.ioc.faults_report import FaultCounts, record
from tests.ioc.inprocess import app_settings, in_process
from tests.ioc.server import free_port


async def test_a_postgres_restart_loses_nothing_accepted(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    server = EmbeddedPostgres(tmp_path / "pg", port=free_port())
    url = server.start()
    await upgrade(url)
    redis = Redis.from_url(redis_url)
    producer = Producer(RedisBus(redis, redis_prefix), batch=500)
    pool = await open_pool(url)
    stop = asyncio.Event()
    writer = asyncio.create_task(
        Writer(pool, producer.bus, ["parking"], block_ms=100).run(stop))
    try:
        async with in_process(app_settings(url, redis_url, redis_prefix)) as (_, client):
            await producer.push(10)
            await until(lambda: stored(url)[0] > 0)
            server.stop()
            await producer.push(10)  # accepted by the bus; the writer cannot store them yet
            health = (await client.get("/api/health")).json()
            assert health["status"] == "degraded" and not health["database"]["ok"]
            assert stored_or_none(url) is None
            server.start()
            await producer.push(10)
            await until(lambda: (stored_or_none(url) or 0) >= producer.accepted, 90)
            assert (await client.get("/api/health")).json()["database"]["ok"]
    finally:
        stop.set()
        await asyncio.wait_for(writer, 30)
        await redis.aclose()
        await pool.close()
    rows, distinct = stored(url)
    server.stop()
    record(FaultCounts("postgres_restart", producer.accepted, distinct,
                       lost=producer.accepted - distinct, duplicated=rows - distinct,
                       note="5,000 accepted while PostgreSQL was down"))
    assert distinct == producer.accepted == 15_000
    assert rows == distinct
