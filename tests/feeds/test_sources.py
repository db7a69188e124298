"""Feeds driven by real sources: an HTTP endpoint polled, and an MQTT topic on Mosquitto."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator

import aiomqtt
import orjson
import pytest
from redis.asyncio import Redis

from feeds.base import FeedError
from feeds.parking import ParkingFeed
from feeds.runner import FeedRunner
from feeds.sources import http_poll, mqtt_listen
from ioc.bus import RedisBus
from tests.clock import TEST_CLOCK
from tests.feeds.conftest import Endpoint

SITE = {"id": "bd-kim-ma", "lon": 105.8226, "lat": 21.0312, "open": True,
        "observed_at": "2026-11-22T08:00:00+07:00",
        "vehicles": {"car": {"capacity": 70, "occupied": 30},
                     "motorbike": {"capacity": 300, "occupied": -1}}}
PAYLOAD = orjson.dumps({"sites": [SITE, {**SITE, "id": "bd-lieu-giai",
                                          "vehicles": {"car": {"capacity": 9, "occupied": 9}}}]})


def _ba_dinh(lons: object, lats: object) -> list[str | None]:
    return ["001"] * len(lons)  # type: ignore[arg-type]


@pytest.fixture
async def bus(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisBus]:
    redis = Redis.from_url(redis_url)
    yield RedisBus(redis, redis_prefix)
    await redis.aclose()


async def _published(bus: RedisBus) -> list[dict[str, object]]:
    entries = await bus.redis.xrange(bus.stream("parking"))
    return [r for _, fields in entries for r in orjson.loads(fields[b"records"])]


async def test_an_http_source_is_polled_and_its_failures_are_reported(
    bus: RedisBus, endpoint: Endpoint
) -> None:
    endpoint.body = PAYLOAD
    runner = FeedRunner(ParkingFeed(http_poll(endpoint.url)), bus, _ba_dinh, clock=TEST_CLOCK)
    # Kim Mã's record is refused whole (a count of -1); Liễu Giai's goes through.
    assert await runner.run_once() == 1
    assert [r["site_id"] for r in await _published(bus)] == ["bd-lieu-giai"]
    assert runner.health.rejected == 1
    endpoint.statuses.append(503)
    with pytest.raises(FeedError, match="answered 503"):
        await runner.run_once()


def _mosquitto_up() -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", 1883)) == 0


async def test_an_mqtt_topic_feeds_the_bus_and_rejects_go_to_the_dead_letters(
    bus: RedisBus,
) -> None:
    if not _mosquitto_up():
        pytest.skip("needs Mosquitto on 127.0.0.1:1883")
    topic = f"ioc-test/{uuid.uuid4().hex}/parking"
    runner = FeedRunner(ParkingFeed(http_poll("http://unused.invalid")), bus, _ba_dinh,
                        clock=TEST_CLOCK)
    stop = asyncio.Event()
    listener = asyncio.create_task(mqtt_listen(runner, "mqtt://127.0.0.1:1883", topic, stop))
    while runner.health.last_success is None:
        await asyncio.sleep(0.05)
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        await client.publish(topic, PAYLOAD, qos=1)
        await client.publish(topic, b"{truncated", qos=1)
    while runner.health.accepted + runner.health.rejected < 3:
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(listener, timeout=10)
    assert [r["site_id"] for r in await _published(bus)] == ["bd-lieu-giai"]
    dead = await bus.redis.xrange(bus.stream("dead"))
    reasons = [r["reason"] for _, f in dead for r in orjson.loads(f[b"records"])]
    assert any("occupied must be a non-negative integer" in r for r in reasons)
    assert any(r.startswith("payload is not JSON") for r in reasons)
