"""Fault: the writer process is SIGKILLed while a producer keeps pushing.

What the bus accepted is all stored once a new writer takes over: entries read but not
committed stay pending and are claimed by the new writer (each writer has a name of its own);
what was committed is not stored twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from ioc.bus import RedisBus
from tests.auth import TEST_AUTH_SECRET
from tests.ioc.fault_tools import Producer, stored
from tests.ioc.faults_report import FaultCounts, record
from tests.ioc.server import PROJECT, wait_until


class Workers:
    """`ioc worker --no-feeds` processes started by the test."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = {**os.environ, **env}
        self.log = log
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as handle:
            process = subprocess.Popen([sys.executable, "-m", "ioc", "worker", "--no-feeds"],
                                       cwd=PROJECT, env=self.env, stdout=handle,
                                       stderr=subprocess.STDOUT)
        self.running.append(process)
        return process


@pytest.fixture
def workers(db: str, redis_url: str, redis_prefix: str, tmp_path: Path) -> Iterator[Workers]:
    env = {"IOC_DATABASE__URL": db, "IOC_REDIS__URL": redis_url,
           "IOC_REDIS__PREFIX": redis_prefix, "IOC_AUTH__SECRET": TEST_AUTH_SECRET,
           "IOC_FEEDS": '["parking"]', "IOC_INGEST__BATCH_ENTRIES": "2",
           "IOC_INGEST__BLOCK_MS": "100", "IOC_INGEST__CLAIM_IDLE_MS": "1000"}
    started = Workers(env, tmp_path / "worker.log")
    yield started
    for process in started.running:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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
