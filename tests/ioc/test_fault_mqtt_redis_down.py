"""Fault: Redis is down while MQTT messages arrive (Mosquitto on 127.0.0.1:1883).

A QoS 1 message is acknowledged to the broker only once it is on the bus, so the broker
delivers again what arrived while Redis was away: nothing published is lost.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import orjson
import pytest
from redis.asyncio import Redis

from feeds.registry import build_parser
from feeds.runner import FeedRunner
from feeds.sources import mqtt_listen
from geo import AreaIndex
from ioc.bus import RedisBus
from ioc.embedded import EmbeddedRedis
from ioc.storage.pool import open_pool
from tests.clock import TEST_CLOCK
from tests.ioc.conftest import PACK, Ingest
from tests.ioc.fault_tools import SITE, stored, until
from tests.ioc.faults_report import FaultCounts, record
from tests.ioc.server import free_port

START = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def _mosquitto_up() -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", 1883)) == 0


def _message(n: int) -> bytes:
    site_id, lon, lat, _ = SITE
    return orjson.dumps({"sites": [{
        "id": site_id, "lon": lon, "lat": lat,
        "observed_at": (START + timedelta(seconds=n)).isoformat(),
        "vehicles": {"car": {"capacity": 60, "occupied": n % 61}}}]})


async def test_messages_arriving_while_redis_is_down_are_delivered_again(
    db: str, tmp_path: Path
) -> None:
    if not _mosquitto_up():
        pytest.skip("needs Mosquitto on 127.0.0.1:1883")
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    url = server.start()
    redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1)
    bus = RedisBus(redis, "mqtt-fault")
    runner = FeedRunner(build_parser("parking", PACK), bus,
                        AreaIndex(PACK.layer(PACK.default_layer)).assign, clock=TEST_CLOCK)
    topic = f"ioc-test/{uuid.uuid4().hex}/parking"
    stop = asyncio.Event()
    listener = asyncio.create_task(mqtt_listen(runner, "mqtt://127.0.0.1:1883", topic, stop))
    pool = await open_pool(db)
    published = 0
    try:
        async with aiomqtt.Client("127.0.0.1", 1883) as client:
            await until(lambda: runner.health.last_success is not None)  # subscribed
            for n in range(0, 10):
                await client.publish(topic, _message(n), qos=1)
            published = 10
            await until(lambda: runner.health.accepted >= 10)
            server.stop()
            for n in range(10, 20):
                await client.publish(topic, _message(n), qos=1)
            published = 20
            await until(lambda: runner.health.consecutive_failures > 0)
            server.start()
            for n in range(20, 30):
                await client.publish(topic, _message(n), qos=1)
            published = 30
        ingest = Ingest(bus, pool, AreaIndex(PACK.layer(PACK.default_layer)), PACK)

        async def drained() -> int:
            await ingest.store(["parking"])
            return stored(db)[1]

        async with asyncio.timeout(90):
            while await drained() < published:
                await asyncio.sleep(0.5)
    finally:
        stop.set()
        await asyncio.wait_for(listener, 30)
        await redis.aclose()
        await pool.close()
        server.stop()
    rows, distinct = stored(db)
    record(FaultCounts("mqtt_while_redis_down", published, distinct,
                       lost=published - distinct, duplicated=rows - distinct,
                       note="10 QoS 1 messages published while Redis was down"))
    assert distinct == published == 30
    assert rows == distinct
