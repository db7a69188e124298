"""A scheduled source is idle outside its hours, not silent: /api/health and the feed-lag
readings of the situations engine, at 02:30 and at 10:00 Hanoi time.

The BRT feeds poll a real local endpoint that answers valid but empty payloads (a GTFS-RT
feed with no vehicle, an empty list of taps), as an agency's endpoint does when no bus runs.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from feeds.registry import LAG_ALLOWANCE_S
from feeds.schedule import PUNCTUALITY_S
from feeds.transit.rt_encode import trip_message, vehicle_message
from geo import CityPack, load_pack
from ioc.bus import RedisBus
from ioc.situations.measures import feed_readings
from tests.clock import DAY, HANOI, NIGHT, clock_env
from tests.conftest import PROJECT, serving
from tests.ioc.server import Server, wait_until

BRT = ("brt_vehicles", "brt_trips", "brt_taps")
EMPTY = {"/brt_vehicles": vehicle_message([], 0.0), "/brt_trips": trip_message([], 0.0),
         "/brt_taps": b"[]"}


@pytest.fixture(scope="module")
def pack() -> CityPack:
    """The Hanoi pack."""
    return load_pack(PROJECT / "packs" / "hanoi")


@pytest.fixture
def empty_brt() -> Iterator[str]:
    """A local endpoint answering each BRT feed's path with an empty payload; its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            body = EMPTY.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _health_once_all_reported(server: Server) -> dict[str, Any]:
    """/api/health once every feed has reported: the BRT feeds a successful poll and their
    first lag allowance (when a feed is only "starting"), the others an observation."""
    def reported() -> dict[str, Any] | None:
        body: dict[str, Any] = httpx.get(f"{server.base_url}/api/health").json()
        feeds = body["feeds"]
        done = all(feeds[f]["last_success"] and feeds[f]["status"] != "starting"
                   for f in BRT) and all(
            status["last_observation"] for name, status in feeds.items() if name not in BRT)
        return body if done else None

    return wait_until(reported, timeout=60.0)


def _serve_at(at: datetime, database_url: str, redis_url: str, folder: Path,
              base: str) -> AbstractContextManager[Server]:
    sources = {feed: {"kind": "http", "url": f"{base}/{feed}", "interval_s": 1.0}
               for feed in BRT}
    # A time-lapse, so that the feeds' first lag allowance (while they are "starting") runs
    # out in seconds; the city stays within the hour it starts at.
    return serving(database_url, redis_url, folder,
                   {**clock_env(at), "IOC_CLOCK__SPEED": "60",
                    "IOC_SOURCES": orjson.dumps(sources).decode()})


def test_at_night_the_brt_feeds_are_idle_and_health_stays_ok(
    database_url: str, redis_url: str, tmp_path: Path, empty_brt: str
) -> None:
    with _serve_at(NIGHT, database_url, redis_url, tmp_path, empty_brt) as server:
        body = _health_once_all_reported(server)
    resumes = datetime(2026, 11, 23, 5, 0, tzinfo=HANOI)
    for feed in BRT:
        status = body["feeds"][feed]
        assert status["status"] == "idle", feed
        assert status["last_observation"] is None
        assert datetime.fromisoformat(status["scheduled_next"]) == resumes
    assert {f: s["status"] for f, s in body["feeds"].items() if f not in BRT} == dict.fromkeys(
        set(body["feeds"]) - set(BRT), "ok")
    assert body["status"] == "ok"


def test_by_day_the_same_silence_is_a_fault(
    database_url: str, redis_url: str, tmp_path: Path, empty_brt: str
) -> None:
    with _serve_at(DAY, database_url, redis_url, tmp_path, empty_brt) as server:
        body = _health_once_all_reported(server)
    for feed in BRT:
        assert body["feeds"][feed]["status"] == "silent", feed
        assert body["feeds"][feed]["scheduled_next"] is None
    assert body["status"] == "degraded"


@pytest.fixture
async def bus(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisBus]:
    """The bus under this test's prefix."""
    redis = Redis.from_url(redis_url)
    yield RedisBus(redis, redis_prefix)
    await redis.aclose()


async def test_an_idle_feed_gives_no_lag_reading(bus: RedisBus, pack: CityPack) -> None:
    feeds = [*BRT, "parking"]
    # The engine has watched since 01:00; car parks report, no bus ever did.
    await bus.record_commit("parking", NIGHT - timedelta(seconds=10), 1, 0)
    watching = NIGHT.replace(hour=1)
    night = await feed_readings(bus, feeds, NIGHT, watching, pack, speed=1.0)
    assert [r.subject for r in night] == ["parking"]
    assert night[0].values["lag_ratio"] == 10 / LAG_ALLOWANCE_S["parking"]
    # The first bus has left but its first report may still be on its way: no reading yet.
    first_minutes = NIGHT.replace(hour=5, minute=3)
    early = await feed_readings(bus, BRT, first_minutes, watching, pack, speed=1.0)
    assert [r.subject for r in early] == []
    # Past the start of the hours and the allowance, silence counts, from the start of the
    # hours, not from 01:00.
    owed_from = NIGHT.replace(hour=5, minute=0) + timedelta(seconds=PUNCTUALITY_S)
    late = owed_from + timedelta(seconds=LAG_ALLOWANCE_S["brt_vehicles"] + 30)
    [vehicles] = await feed_readings(bus, ["brt_vehicles"], late, watching, pack, speed=1.0)
    assert vehicles.values["lag_ratio"] == (late - owed_from).total_seconds() / 60.0
    assert vehicles.evidence["silent"] is True


async def test_by_day_a_silent_feed_reads_late(bus: RedisBus, pack: CityPack) -> None:
    watching = DAY - timedelta(hours=1)
    readings = {r.subject: r for r in await feed_readings(bus, BRT, DAY, watching, pack, speed=1.0)}
    assert set(readings) == set(BRT)
    for feed, reading in readings.items():
        assert reading.values["lag_ratio"] == 3600 / LAG_ALLOWANCE_S[feed]
        assert reading.evidence["silent"] is True
