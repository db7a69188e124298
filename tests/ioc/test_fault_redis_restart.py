"""Fault: Redis restarts (a private one with an append-only file) while feeds push.

Batches the bus accepted before the restart survive in its AOF and are stored; batches
pushed while it is down are refused to their producer (not accepted, so not owed); the
writer resumes by itself; /api/health reports Redis down while it is.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from redis.asyncio import Redis

from ioc.bus import RedisBus
from ioc.embedded import EmbeddedRedis
from ioc.storage.pool import open_pool
from ioc.writer import Writer
from tests.ioc.fault_tools import Producer, stored, until
from tests.ioc.faults_report import FaultCounts, record
from tests.ioc.inprocess import app_settings, in_process
from tests.ioc.server import free_port


async def test_a_redis_restart_loses_nothing_accepted(db: str, tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    url = server.start()
    redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1)
    bus = RedisBus(redis, "fault")
    producer = Producer(bus, batch=500)
    pool = await open_pool(db)
    stop = asyncio.Event()
    writer = asyncio.create_task(Writer(pool, bus, ["parking"], block_ms=100).run(stop))
    try:
        async with in_process(app_settings(db, url, "fault")) as (_, client):
            await producer.push(10)
            await until(lambda: stored(db)[0] > 0)
            server.stop()
            await producer.push(4)  # refused: Redis is down
            health = (await client.get("/api/health")).json()
            assert health["status"] == "degraded" and not health["redis"]["ok"]
            server.start()
            await producer.push(10)
            await until(lambda: stored(db)[0] >= producer.accepted, 90)
            health = (await client.get("/api/health")).json()
            assert health["redis"]["ok"]
    finally:
        stop.set()
        await asyncio.wait_for(writer, 30)
        await redis.aclose()
        await pool.close()
        server.stop()
    rows, distinct = stored(db)
    record(FaultCounts("redis_restart", producer.accepted, distinct,
                       lost=producer.accepted - distinct, duplicated=rows - distinct,
                       note=f"{producer.refused} refused to the producer while Redis was down"))
    assert producer.refused == 2000
    assert distinct == producer.accepted == 10_000
    assert rows == distinct
