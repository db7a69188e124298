"""Fault: one wall client stops reading while the feeds flood the live stream.

The other clients keep receiving and see the newest state after the flood; every row the
bus accepted during the flood is stored once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx
import orjson
import psycopg
import websockets
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection

from feeds.parking import ParkingObservation
from ioc.bus import RedisBus
from tests.auth import bearer
from tests.ioc.faults_report import FaultCounts, record
from tests.ioc.server import Server

MARKER_OCCUPIED = 59


def _flood(sites: list[dict[str, object]], start: datetime, rounds: int
           ) -> list[list[ParkingObservation]]:
    """A batch per round with a reading of every car park, each round a second later."""
    batches = []
    for n in range(rounds):
        at = start + timedelta(seconds=n)
        batches.append([
            ParkingObservation(str(p["id"]), "car", at, 100, (n * 7 + i) % 100,
                               "spacesAvailable", float(lon), float(lat), None)
            for i, (p, (lon, lat)) in enumerate(
                (s["properties"], s["geometry"]["coordinates"]) for s in sites)  # type: ignore[index]
        ])
    return batches


async def _sees_marker(ws: ClientConnection, site: str) -> int:
    """Read until a frame carries the marker reading of `site`; return the frames read."""
    frames = 0
    async with asyncio.timeout(60):
        while True:
            text = await ws.recv()
            frames += 1
            if isinstance(text, str) and site in text and \
                    f'"occupied":{MARKER_OCCUPIED}' in text.replace(" ", ""):
                return frames


def _stored_since(url: str, start: datetime) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (site_id, vehicle_type, time)) "
            "FROM parking_occupancy WHERE time >= %s", (start,)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def test_a_client_that_stops_reading_holds_back_nobody(
    server: Server, database_url: str
) -> None:
    url = server.ws_url
    readers = [await websockets.connect(url, max_size=2**24) for _ in range(2)]
    stuck = await websockets.connect(url, max_size=2**24, max_queue=1)
    async with httpx.AsyncClient() as http:
        sites = (await http.get(server.base_url + "/api/parking/sites",
                                headers=bearer("viewer"))).json()["features"]
    start = server.city_now().replace(microsecond=0) + timedelta(hours=2)
    redis = Redis.from_url(server.env["IOC_REDIS__URL"])
    bus = RedisBus(redis, server.env["IOC_REDIS__PREFIX"])
    accepted = 0
    try:
        for batch in _flood(sites, start, 150):
            await bus.publish("parking", batch)
            accepted += len(batch)
        # Keep the readers reading while the flood is written and fanned out.
        drains = [asyncio.create_task(_drain(ws)) for ws in readers]
        marker_site = sites[0]["properties"]["id"]
        lon, lat = sites[0]["geometry"]["coordinates"]
        marker = ParkingObservation(marker_site, "car", start + timedelta(hours=1), 100,
                                    MARKER_OCCUPIED, "spacesAvailable", lon, lat, None)
        deadline = asyncio.get_running_loop().time() + 90
        while _stored_since(database_url, start)[1] < accepted:
            assert asyncio.get_running_loop().time() < deadline, "the flood was not stored"
            await asyncio.sleep(0.25)
        for task in drains:
            task.cancel()
        await bus.publish("parking", [marker])
        accepted += 1
        frames = [await _sees_marker(ws, marker_site) for ws in readers]
        assert all(f >= 1 for f in frames)
    finally:
        for ws in [*readers, stuck]:
            await ws.close()
        await redis.aclose()
    rows, distinct = _stored_since(database_url, start)
    record(FaultCounts("slow_ws_client", accepted, distinct, lost=accepted - distinct,
                       duplicated=rows - distinct,
                       note="2 reading clients saw the newest reading; 1 never read"))
    assert distinct == accepted
    assert rows == distinct


async def _drain(ws: ClientConnection) -> None:
    while True:
        orjson.loads(await ws.recv())
