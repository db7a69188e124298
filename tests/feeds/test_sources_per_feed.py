"""Every feed through every live source kind: MQTT, HTTP push, and (BRT) GTFS-Realtime polling.

A good payload arrives whole; a malformed one is refused with a reason and loses nothing else.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator

import aiomqtt
import httpx
import orjson
import pytest
from redis.asyncio import Redis

from feeds.registry import FEEDS, build_feed
from feeds.runner import FeedRunner
from feeds.sources import http_poll, mqtt_listen
from geo import AreaIndex, load_pack
from ioc.bus import RedisBus
from ioc.settings import PROJECT_ROOT
from tests.clock import TEST_CLOCK
from tests.conftest import PUSH_KEYS, shared_file
from tests.feeds.conftest import Endpoint
from tests.feeds.samples import samples
from tests.ioc.server import Server

PACK = load_pack(PROJECT_ROOT / "packs" / "hanoi")
INDEX = AreaIndex(PACK.layer(PACK.default_layer))
SAMPLES = samples()


@pytest.fixture
async def bus(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisBus]:
    redis = Redis.from_url(redis_url)
    yield RedisBus(redis, redis_prefix)
    await redis.aclose()


async def _on_bus(bus: RedisBus, feed: str) -> tuple[int, list[str]]:
    entries = await bus.redis.xrange(bus.stream(feed))
    published = sum(len(orjson.loads(f[b"records"])) for _, f in entries)
    dead = await bus.redis.xrange(bus.stream("dead"))
    reasons = [r["reason"] for _, f in dead for r in orjson.loads(f[b"records"])]
    return published, reasons


def _expected(feed: str) -> int:
    # The parser's own verdict on the good payload: what every source must deliver, no less.
    return len(build_feed(feed, PACK, TEST_CLOCK).parse(SAMPLES[feed][0]).observations)


def test_every_feed_has_samples() -> None:
    assert set(SAMPLES) == set(FEEDS)


@pytest.mark.parametrize("feed", sorted(FEEDS))
async def test_mqtt_delivers_every_feed(bus: RedisBus, feed: str) -> None:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        if sock.connect_ex(("127.0.0.1", 1883)) != 0:
            pytest.skip("needs Mosquitto on 127.0.0.1:1883")
    good, bad = SAMPLES[feed]
    runner = FeedRunner(build_feed(feed, PACK, TEST_CLOCK), bus, INDEX.assign, clock=TEST_CLOCK)
    topic = f"ioc-test/{uuid.uuid4().hex}/{feed}"
    stop = asyncio.Event()
    listener = asyncio.create_task(mqtt_listen(runner, "mqtt://127.0.0.1:1883", topic, stop))
    while runner.health.last_success is None:
        await asyncio.sleep(0.05)
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        await client.publish(topic, good, qos=1)
        await client.publish(topic, bad, qos=1)
    while runner.health.rejected < 1 or runner.health.accepted < _expected(feed):
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(listener, timeout=10)
    published, reasons = await _on_bus(bus, feed)
    assert published == _expected(feed) > 0
    assert len(reasons) == 1 and reasons[0]


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_http_push_delivers_every_feed(server: Server, feed: str) -> None:
    good, bad = SAMPLES[feed]
    url = f"{server.base_url}/api/ingest/{feed}"
    headers = {"X-API-Key": PUSH_KEYS[feed]}
    ok = httpx.post(url, content=good, headers=headers).json()
    refused = httpx.post(url, content=bad, headers=headers).json()
    assert ok["accepted"] == _expected(feed) > 0 and ok["rejected"] == []
    assert refused["accepted"] == 0 and len(refused["rejected"]) == 1
    assert refused["rejected"][0]["reason"]


async def test_gtfs_realtime_is_polled_over_http(bus: RedisBus, endpoint: Endpoint) -> None:
    endpoint.body = shared_file("gtfs/caltrain/vehicle-positions.pb").read_bytes()
    feed = build_feed("brt_vehicles", PACK, http_poll(endpoint.url))
    assert await FeedRunner(feed, bus, INDEX.assign, clock=TEST_CLOCK).run_once() == 14
    published, _ = await _on_bus(bus, "brt_vehicles")
    assert published == 14
