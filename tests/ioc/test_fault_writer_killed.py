"""Fault: the writer process is SIGKILLed while a producer keeps pushing.

What the bus accepted is all stored once a new writer takes over: entries read but not
committed stay pending and are claimed by the new writer (each writer has a name of its own);
what was committed is not stored twice.
"""

from __future__ import annotations

import signal

from redis.asyncio import Redis

from ioc.bus import RedisBus
from tests.ioc.fault_tools import Producer, stored
from tests.ioc.faults_report import FaultCounts, record
from tests.ioc.server import wait_until
from tests.ioc.worker_processes import Workers


async def test_a_writer_killed_mid_batch_loses_nothing_and_stores_nothing_twice(
    db: str, redis_url: str, redis_prefix: str, workers: Workers
) -> None:
    redis = Redis.from_url(redis_url)
    producer = Producer(RedisBus(redis, redis_prefix), batch=500)
    try:
        first = workers.start()
        await producer.push(20)
        # Killed while it is working through the backlog, between or inside commits.
        wait_until(lambda: stored(db)[0] > 0, timeout=60)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        at_kill = stored(db)[0]
        await producer.push(20)
        workers.start()
        await producer.push(10)
        wait_until(lambda: stored(db)[0] >= producer.accepted, timeout=90)
    finally:
        await redis.aclose()
    rows, distinct = stored(db)
    record(FaultCounts("writer_killed", producer.accepted, distinct,
                       lost=producer.accepted - distinct, duplicated=rows - distinct,
                       note=f"SIGKILL with {at_kill} of the first 10,000 stored"))
    assert at_kill < producer.accepted
    assert distinct == producer.accepted == 25_000
    assert rows == distinct
