"""Situations benchmark: an observation accepted on the bus to its situation change at a live
client, under a synthetic whole-city load.

Background load, published on the bus as the feed runners would: 2,500 car parks with two
vehicle types reporting every 10 s (500 readings/s) and 1,000 intersections' detector events
(5,000 events/s). Probes: every 0.25 s a signal status in flash for a new intersection (so
each opens a situation; rule minimum durations set to zero). The clock starts when the probe's
XADD returns (accepted) and stops when the "opened" change reaches a WebSocket client
subscribed to the situations stream of the real API application (served by uvicorn in this
process, on the same Redis and database), so the engine, the store, Redis pub/sub, the hub and
the socket are all inside the measurement. Results go to bench/results/situations.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import websockets
from redis.asyncio import Redis

from bench.serve import SECRET, served, token
from feeds.base import geo_tag
from feeds.clock import Clock
from feeds.parking import ParkingObservation
from feeds.signals.events import SignalEvent
from feeds.signals.status import SignalStatus
from geo import AreaIndex, load_pack
from ioc.auth.roles import Role
from ioc.bus import RedisBus
from ioc.settings import PROJECT_ROOT, Settings
from ioc.situations.engine import SituationEngine
from ioc.situations.rules import RuleBook, load_rulebook
from ioc.storage.migrate import upgrade
from ioc.storage.pool import open_pool

RESULTS = PROJECT_ROOT / "bench" / "results"
PACK = PROJECT_ROOT / "packs" / "hanoi"
ADMIN_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"
CENTRE = (105.84, 21.03)


def _book() -> RuleBook:
    book = load_rulebook(PACK / "rules.json", PACK / "procedures.json")
    rules = tuple(r.model_copy(update={"min_duration_s": 0.0,
                                       "enabled": r.condition.source != "feed"})
                  for r in book.rules)
    return RuleBook(rules=rules, procedures=book.procedures)


async def _load(bus: RedisBus, index: AreaIndex, stop: asyncio.Event) -> None:
    """Car parks and detector events at city scale, second by second."""
    tick = 0
    while not stop.is_set():
        now = datetime.now(UTC)
        parks = [ParkingObservation(f"p{(tick * 500 + i) % 2500}", vt, now, 200, 100, "open",
                                    CENTRE[0] + i * 1e-5, CENTRE[1])
                 for i in range(250) for vt in ("car", "motorbike")]
        events = [SignalEvent(f"sig-load-{i % 1000}", now + timedelta(milliseconds=i % 1000),
                              82 if i % 2 else 81, i % 16, *CENTRE) for i in range(5000)]
        await bus.publish("parking", geo_tag(parks, index.assign))
        await bus.publish("signals", geo_tag(events, index.assign))
        tick += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def run(probes: int) -> dict[str, object]:
    """Measure; return the results."""
    name = f"ioc_bench_sit_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(ADMIN_PG, dbname=name)
    prefix = f"bench-sit-{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(REDIS)
    bus = RedisBus(redis, prefix)
    pack = load_pack(PACK)
    index = AreaIndex(pack.layer(pack.default_layer))
    stop = asyncio.Event()
    try:
        await upgrade(url, allow_timescaledb=False)
        pool = await open_pool(url, 1, 4)
        engine = SituationEngine(pool, bus, pack, _book(), index.assign,
                                 ["parking", "signals"], batch_entries=50, block_ms=100,
                                 clock=Clock())
        await engine.start()
        settings = Settings(database={"url": url}, redis={"url": REDIS, "prefix": prefix},
                            auth={"secret": SECRET}, feeds=["parking", "signals"])
        tasks = [asyncio.create_task(engine.run(stop)), asyncio.create_task(_load(bus, index,
                                                                                  stop))]
        latencies: list[float] = []
        sent: dict[str, float] = {}
        async with served(settings) as base:
            live = (f"{base.replace('http', 'ws', 1)}/ws/live?token={token(Role.VIEWER)}"
                    "&subscribe=none")
            async with websockets.connect(live, max_size=None) as ws:
                await ws.send(orjson.dumps({"type": "subscribe", "id": "sit",
                                            "streams": ["situations"]}).decode())
                await asyncio.sleep(3)  # the load reaches its pace

                async def receive() -> None:
                    while len(latencies) < probes:
                        message = orjson.loads(await ws.recv())
                        if message.get("type") != "delta" or message.get("change") != "opened":
                            continue
                        key = message["situation"]["asset_id"]
                        if key in sent:
                            latencies.append(time.perf_counter() - sent.pop(key))

                receiver = asyncio.create_task(receive())
                for i in range(probes):
                    signal = f"sig-probe-{i}"
                    status = SignalStatus(signal, datetime.now(UTC), "flash", "mmu", None,
                                          *CENTRE)
                    tagged = geo_tag([status], index.assign)
                    started = time.perf_counter()
                    await bus.publish("signals", tagged)
                    sent[signal] = started
                    await asyncio.sleep(0.25)
                await asyncio.wait_for(receiver, 60)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await pool.close()
    finally:
        stop.set()
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ordered = sorted(latencies)
    return {
        "benchmark": "situations: observation accepted to situation change at a WebSocket client",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cores": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)},
        "load": {"parking_readings_per_s": 500, "signal_events_per_s": 5000},
        "probes": len(ordered),
        "readings_judged": engine.stats.readings,
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "target_p99_ms": 1000,
    }


def main() -> None:
    """Run and write bench/results/situations.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--probes", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(run(args.probes))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "situations.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
