"""Ingest benchmark, per feed: simulator output to committed rows, beside raw binary COPY.

The feed runner (parse, validate, geo-tag, XADD) runs in its own process, as the `feeds`
role does in production; the writer (XREADGROUP, COPY, commit, XACK, live deltas) runs in
this one. The clock starts when the first payload is handed to the runner and stops when the
last row is committed. Then the same rows are written with one plain binary COPY into a copy
of the feed's history table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import platform
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from redis.asyncio import Redis

from bench.workloads import WORKLOADS, Workload
from feeds.clock import Clock
from feeds.runner import FeedRunner
from geo import AreaIndex, CityPack, load_pack
from ioc.bus import RedisBus
from ioc.embedded import embedded_services
from ioc.settings import PROJECT_ROOT
from ioc.storage.migrate import upgrade
from ioc.storage.pool import open_pool
from ioc.writer import Writer

RESULTS = PROJECT_ROOT / "bench" / "results"
PACK = PROJECT_ROOT / "packs" / "hanoi"


def _produce(
    work: Workload, payloads: list[bytes], redis_url: str, prefix: str, started: Any
) -> None:
    """The feeds role: hand every payload to a real FeedRunner publishing to Redis."""

    async def feed_all() -> None:
        queue = list(reversed(payloads))

        async def source() -> bytes:
            return queue.pop()

        pack = load_pack(PACK)
        index = AreaIndex(pack.layer(pack.default_layer))
        redis = Redis.from_url(redis_url)
        runner = FeedRunner(work.build(source, pack), RedisBus(redis, prefix), index.assign,
                            clock=Clock())
        started.set()
        while queue:
            await runner.run_once()
        await redis.aclose()

    asyncio.run(feed_all())


async def _pipeline(
    work: Workload, payloads: list[bytes], db: str, redis_url: str
) -> tuple[float, int]:
    prefix = f"ioc-bench-{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(redis_url)
    bus = RedisBus(redis, prefix)
    pool = await open_pool(db, 1, 2)
    writer = Writer(pool, bus, [work.feed], consumer="bench", block_ms=200)
    await writer.start()
    started = mp.get_context("fork").Event()
    producer = mp.get_context("fork").Process(
        target=_produce, args=(work, payloads, redis_url, prefix, started)
    )
    producer.start()
    started.wait()
    t0 = time.perf_counter()
    # Until the producer is done the total is unknown: step until it has finished and the
    # writers have acknowledged everything it published.
    while producer.is_alive() or await bus.outstanding(work.feed):
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
    return elapsed, writer.stats.stored


async def _raw_copy(
    work: Workload, payloads: list[bytes], pack: CityPack, db: str
) -> tuple[int, float]:
    rows = work.raw_rows(payloads, pack)
    async with await psycopg.AsyncConnection.connect(db) as conn:
        await conn.execute(f"CREATE TABLE bench_raw (LIKE {work.history} INCLUDING ALL)")
        await conn.commit()
        t0 = time.perf_counter()
        async with conn.cursor() as cur, cur.copy(
            f"COPY bench_raw ({', '.join(work.raw_columns)}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(list(work.raw_types))
            for row in rows:
                await copy.write_row(row)
        await conn.commit()
        return len(rows), time.perf_counter() - t0


async def _count(db: str, table: str) -> int:
    async with await psycopg.AsyncConnection.connect(db) as conn:
        row = await (await conn.execute(f"SELECT count(*) FROM {table}")).fetchone()
        return int(row[0]) if row else 0


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


async def run(work: Workload, size: int) -> dict[str, Any]:
    """Measure one feed on a fresh database and return the figures."""
    pack = load_pack(PACK)
    payloads = work.payloads(pack, size)
    with _servers() as (admin, redis_url):
        name = f"ioc_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        db = psycopg.conninfo.make_conninfo(admin, dbname=name)
        try:
            report = await upgrade(db)
            elapsed, stored = await _pipeline(work, payloads, db, redis_url)
            history = await _count(db, work.history)
            raw_rows, raw_elapsed = await _raw_copy(work, payloads, pack, db)
            async with await psycopg.AsyncConnection.connect(db) as conn:
                row = await (await conn.execute("SHOW server_version")).fetchone()
                server_version = str(row[0]) if row else "?"
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    end_to_end = stored / elapsed
    raw = raw_rows / raw_elapsed
    return {
        "feed": work.feed,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "postgres": server_version,
        "storage_mode": report.mode,
        "observations_stored": stored,
        "history_rows": history,
        "source_rows": raw_rows,
        "lost": raw_rows - history,
        "end_to_end": {"seconds": round(elapsed, 3), "obs_per_s": round(end_to_end)},
        "raw_copy": {"seconds": round(raw_elapsed, 3), "obs_per_s": round(raw)},
        "ratio_end_to_end_over_raw": round(end_to_end / raw, 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feed", choices=[*WORKLOADS, "all"], default="all")
    parser.add_argument("--size", type=int, help="observations per feed (default: per feed)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for feed in WORKLOADS if args.feed == "all" else [args.feed]:
        work = WORKLOADS[feed]
        result = asyncio.run(run(work, args.size or work.default_size))
        path = RESULTS / f"ingest-{feed}.json"
        path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        print(f"{feed}: {result['history_rows']:,} rows stored, {result['lost']} lost")
        print(f"  end to end  {result['end_to_end']['obs_per_s']:>9,} /s"
              f"  ({result['end_to_end']['seconds']} s)")
        print(f"  raw COPY    {result['raw_copy']['obs_per_s']:>9,} /s"
              f"  ({result['raw_copy']['seconds']} s)")
        print(f"  ratio       {result['ratio_end_to_end_over_raw']}   -> {path}")
