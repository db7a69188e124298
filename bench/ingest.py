"""Ingest benchmark: simulator output to committed rows, beside raw binary COPY of the same rows.

The feed runner (parse, validate, geo-tag, XADD) runs in its own process, as the `feeds`
role does in production; the writer (XREADGROUP, COPY, commit, XACK, live deltas) runs in
this one. The clock starts when the first payload is handed to the runner and stops when the
last row is committed. Then the same rows are written with one plain binary COPY.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import platform
import random
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
from redis.asyncio import Redis

from feeds.parking import ParkingFeed, parse_payload
from feeds.runner import FeedRunner
from feeds.simulator import ParkingSimulator
from geo import AreaIndex, load_pack
from ioc.bus import RedisBus
from ioc.embedded import embedded_services
from ioc.settings import PROJECT_ROOT
from ioc.storage.migrate import upgrade
from ioc.storage.pool import open_pool
from ioc.writer import Writer

RESULTS = PROJECT_ROOT / "bench" / "results"
PACK = PROJECT_ROOT / "packs" / "hanoi"


def _sites(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` car parks: the pack's own, repeated with small offsets to city scale."""
    rng = random.Random(seed)
    base = load_pack(PACK).asset_features("parking")
    sites = []
    for i in range(count):
        feature = base[i % len(base)]
        lon, lat = feature["geometry"]["coordinates"][:2]
        props = {**feature["properties"], "id": f"{feature['properties']['id']}-{i}",
                 "opening_hours": "Mo-Su 00:00-24:00"}
        sites.append({"type": "Feature", "properties": props, "geometry": {
            "type": "Point",
            "coordinates": [lon + rng.uniform(-0.01, 0.01), lat + rng.uniform(-0.01, 0.01)],
        }})
    return sites


def _payloads(sites: int, ticks: int) -> list[bytes]:
    start = datetime(2026, 11, 23, 3, tzinfo=UTC)
    clock = [start]
    sim = ParkingSimulator(_sites(sites), now=lambda: clock[0])
    out = []
    for tick in range(ticks):
        clock[0] = start + timedelta(seconds=10 * tick)
        out.append(sim.snapshot_bytes())
    return out


def _produce(payloads: list[bytes], redis_url: str, prefix: str, started: Any) -> None:
    """The feeds role: hand every payload to a real FeedRunner publishing to Redis."""

    async def main() -> None:
        queue = list(reversed(payloads))

        async def source() -> bytes:
            return queue.pop()

        pack = load_pack(PACK)
        index = AreaIndex(pack.layer(pack.default_layer))
        redis = Redis.from_url(redis_url)
        runner = FeedRunner(ParkingFeed(source), RedisBus(redis, prefix), index.assign)
        started.set()
        while queue:
            await runner.run_once()
        await redis.aclose()

    asyncio.run(main())


async def _committed(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        row = await (await conn.execute("SELECT count(*) FROM parking_occupancy")).fetchone()
        return int(row[0]) if row else 0


async def _pipeline(payloads: list[bytes], expected: int, db: str, redis_url: str) -> float:
    prefix = f"ioc-bench-{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(redis_url)
    bus = RedisBus(redis, prefix)
    pool = await open_pool(db, 1, 2)
    writer = Writer(pool, bus, ["parking"], consumer="bench", block_ms=200)
    await writer.start()
    started = mp.get_context("fork").Event()
    producer = mp.get_context("fork").Process(
        target=_produce, args=(payloads, redis_url, prefix, started)
    )
    producer.start()
    started.wait()
    t0 = time.perf_counter()
    while writer.stats.stored + writer.stats.duplicates < expected:
        await writer.step()
    elapsed = time.perf_counter() - t0
    producer.join()
    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
    await pool.close()
    if writer.stats.duplicates or writer.stats.dead:
        raise RuntimeError(f"unexpected duplicates or rejects: {writer.stats}")
    return elapsed


async def _raw_copy(payloads: list[bytes], db: str) -> tuple[int, float]:
    rows = []
    for payload in payloads:
        for o in parse_payload(payload).observations:
            rows.append((o.observed_at, o.site_id, o.vehicle_type, "000", o.capacity,
                         o.occupied, o.status))
    async with await psycopg.AsyncConnection.connect(db) as conn:
        await conn.execute("CREATE TABLE bench_raw (LIKE parking_occupancy INCLUDING ALL)")
        await conn.commit()
        t0 = time.perf_counter()
        async with conn.cursor() as cur, cur.copy(
            "COPY bench_raw (time, site_id, vehicle_type, district, capacity, occupied, status)"
            " FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["timestamptz", "text", "text", "text", "int4", "int4", "text"])
            for row in rows:
                await copy.write_row(row)
        await conn.commit()
        return len(rows), time.perf_counter() - t0


def _reachable(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def _servers() -> Iterator[tuple[str, str]]:
    """The machine's PostgreSQL and Redis when reachable, else embedded ones."""
    admin = os.environ.get("IOC_BENCH_ADMIN_DATABASE_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
    redis = os.environ.get("IOC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    need_pg, need_redis = not _reachable(5432), not _reachable(6379)
    if not (need_pg or need_redis):
        yield admin, redis
        return
    data = PROJECT_ROOT / ".ioc-data" / "bench"
    data.mkdir(parents=True, exist_ok=True)
    with embedded_services(data, postgres=need_pg, redis=need_redis,
                           pg_port=54349, redis_port=63809) as (pg, rd):
        yield pg or admin, rd or redis


def _machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip()
                  for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(memory_kb / 2**20, 1),
            "python": platform.python_version(), "system": platform.platform()}


async def main(sites: int, ticks: int) -> dict[str, Any]:
    """Run both measurements on a fresh database and return the figures."""
    payloads = _payloads(sites, ticks)
    expected = sum(len(parse_payload(p).observations) for p in payloads)
    with _servers() as (admin, redis_url):
        name = f"ioc_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        db = psycopg.conninfo.make_conninfo(admin, dbname=name)
        try:
            report = await upgrade(db)
            elapsed = await _pipeline(payloads, expected, db, redis_url)
            stored = await _committed(db)
            raw_rows, raw_elapsed = await _raw_copy(payloads, db)
            async with await psycopg.AsyncConnection.connect(db) as conn:
                row = await (await conn.execute("SHOW server_version")).fetchone()
                server_version = str(row[0]) if row else "?"
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    end_to_end = expected / elapsed
    raw = raw_rows / raw_elapsed
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "postgres": server_version,
        "storage_mode": report.mode,
        "sites": sites,
        "ticks": ticks,
        "observations": expected,
        "stored": stored,
        "lost": expected - stored,
        "end_to_end": {"seconds": round(elapsed, 3), "obs_per_s": round(end_to_end)},
        "raw_copy": {"seconds": round(raw_elapsed, 3), "obs_per_s": round(raw)},
        "ratio_end_to_end_over_raw": round(end_to_end / raw, 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=2500, help="car parks (2 rows per tick)")
    parser.add_argument("--ticks", type=int, default=100, help="simulator steps")
    args = parser.parse_args()
    result = asyncio.run(main(args.sites, args.ticks))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"observations:  {result['observations']:,} ({result['lost']} lost)")
    print(f"end to end:    {result['end_to_end']['obs_per_s']:,} obs/s "
          f"({result['end_to_end']['seconds']} s)")
    print(f"raw COPY:      {result['raw_copy']['obs_per_s']:,} obs/s "
          f"({result['raw_copy']['seconds']} s)")
    print(f"ratio:         {result['ratio_end_to_end_over_raw']}")
    print(f"written to {RESULTS / 'ingest.json'}")
