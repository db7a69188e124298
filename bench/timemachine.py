"""Time machine benchmark: 30 days of whole-city history, then replay, `state at T`, export.

Data (generated in SQL with generate_series into a fresh database, Hanoi pack assets, and
inserted in time order as the writer appends it, which is what the BRIN time indexes rely on):
- parking: the pack's 43 car parks, car and motorbike, a reading every minute;
- signals: the 41 signals' statuses restated every 5 minutes, and their controller events
  at one a second each over the last 6 hours only (a tractable subset: neither replay nor
  `state at T` reads controller events; they are there for the export figure);
- queues: the 31 desks' counter snapshots every minute, and tickets (issued, called, done)
  every 4 minutes per desk during opening hours;
- BRT: 20 buses reporting every 10 s from 05:00 to 22:00 Hanoi time.

Measured:
- time to first frame of a replay: the real app served by uvicorn in this process, a real
  WebSocket client on /ws/replay; from sending the `replay` message to the first snapshot,
  to the last of the five snapshots, and to the first delta (median of several starts);
- `state at T`: `ioc.history.state_at.state_at` on a pool connection (assets, situations,
  district figures and KPIs), at several instants (median and max);
- export throughput: `GET /api/export/{feed}` over HTTP from the same app, read to the end,
  per format, in rows/s and MB/s.
Writes bench/results/timemachine.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import websockets

from bench.serve import SECRET, served, token
from feeds.transit.gtfs_static import load_gtfs
from geo import AreaIndex, load_pack
from ioc.auth.roles import Role
from ioc.history.state_at import Coordinates, state_at
from ioc.settings import PROJECT_ROOT, Settings
from ioc.storage.migrate import upgrade
from ioc.storage.pool import open_pool

RESULTS = PROJECT_ROOT / "bench" / "results"
PACK = load_pack(PROJECT_ROOT / "packs" / "hanoi")
TARGETS_MS = {"first_frame": 500, "state_at": 300}


def _assets(kind: str) -> list[tuple[str, float, float]]:
    return [(str(f["properties"]["id"]), *map(float, f["geometry"]["coordinates"][:2]))
            for f in PACK.asset_features(kind)]


def _districts(points: list[tuple[str, float, float]]) -> list[str | None]:
    index = AreaIndex(PACK.layer(PACK.default_layer))
    return list(index.assign([p[1] for p in points], [p[2] for p in points]))


async def _load(db: str, days: int, end: datetime) -> dict[str, int]:
    """Fill the history tables; return rows per table."""
    start = end - timedelta(days=days)
    sites, signals, desks = _assets("parking"), _assets("signals"), _assets("service_points")
    stops = [s for s in load_gtfs(PACK.gtfs_path).stops.values()
             if s.lon is not None and s.lat is not None]
    span = {"start": start, "end": end}

    def arrays(points: list[tuple[str, float, float]]) -> dict[str, Any]:
        return {"ids": [p[0] for p in points], "lons": [p[1] for p in points],
                "lats": [p[2] for p in points], "districts": _districts(points)}

    statements = [
        ("parking_occupancy",
         "INSERT INTO parking_occupancy SELECT t, a.id, v.type, a.district, v.cap,"
         " (v.cap * (0.5 + 0.45 * sin(extract(epoch FROM t) / 7200 + a.n)))::int,"
         " 'spacesAvailable'"
         " FROM generate_series(%(start)s::timestamptz + interval '1 minute', %(end)s,"
         "   interval '1 minute') t,"
         " unnest(%(ids)s::text[], %(districts)s::text[]) WITH ORDINALITY a(id, district, n),"
         " (VALUES ('car', 80), ('motorbike', 300)) v(type, cap) ORDER BY t", arrays(sites)),
        ("signal_status",
         "INSERT INTO signal_status SELECT t, a.id,"
         " CASE WHEN (extract(epoch FROM t)::bigint / 300 + a.n) %% 97 = 0 THEN 'flash'"
         " ELSE 'normal' END, NULL, NULL, a.district"
         " FROM generate_series(%(start)s::timestamptz + interval '5 minutes', %(end)s,"
         "   interval '5 minutes') t,"
         " unnest(%(ids)s::text[], %(districts)s::text[]) WITH ORDINALITY a(id, district, n)"
         " ORDER BY t", arrays(signals)),
        ("signal_events",
         "INSERT INTO signal_events SELECT t, a.id,"
         " (ARRAY[1, 8, 10, 81, 82])[1 + (extract(epoch FROM t)::bigint + a.n) %% 5],"
         " (extract(epoch FROM t)::bigint %% 8)::int, a.district"
         " FROM generate_series(%(end)s::timestamptz - interval '6 hours', %(end)s,"
         "   interval '1 second') t,"
         " unnest(%(ids)s::text[], %(districts)s::text[]) WITH ORDINALITY a(id, district, n)"
         " ORDER BY t", arrays(signals)),
        ("queue_counter_snapshots",
         "INSERT INTO queue_counter_snapshots SELECT t, a.id, 3,"
         " (5 + 4 * sin(extract(epoch FROM t) / 3600 + a.n))::int,"
         " jsonb_build_object('civil', (5 + 4 * sin(extract(epoch FROM t) / 3600 + a.n))::int),"
         " a.district"
         " FROM generate_series(%(start)s::timestamptz + interval '1 minute', %(end)s,"
         "   interval '1 minute') t,"
         " unnest(%(ids)s::text[], %(districts)s::text[]) WITH ORDINALITY a(id, district, n)"
         " ORDER BY t", arrays(desks)),
        ("queue_ticket_events",
         "INSERT INTO queue_ticket_events SELECT t + e.after * ((a.n + k) %% 13 + 2),"
         " a.id, 'T' || k, e.event, 'civil', 'c1', a.district"
         " FROM generate_series(%(start)s::timestamptz, %(end)s - interval '1 hour',"
         "   interval '4 minutes') WITH ORDINALITY g(t, k),"
         " unnest(%(ids)s::text[], %(districts)s::text[]) WITH ORDINALITY a(id, district, n),"
         " (VALUES ('issued', interval '0'), ('called', interval '1 minute'),"
         "  ('done', interval '90 seconds')) e(event, after)"
         " WHERE extract(hour FROM t AT TIME ZONE 'Asia/Ho_Chi_Minh') BETWEEN 8 AND 16"
         " ORDER BY 1", arrays(desks)),
        ("brt_vehicle_positions",
         "INSERT INTO brt_vehicle_positions SELECT t, 'bus-' || b, 'trip-' || b, '01',"
         " b %% 2, s.ids[1 + (b * 7 + extract(epoch FROM t)::bigint / 120) %% s.n],"
         " 1, 'IN_TRANSIT_TO', NULL,"
         " s.lons[1 + (b * 7 + extract(epoch FROM t)::bigint / 120) %% s.n],"
         " s.lats[1 + (b * 7 + extract(epoch FROM t)::bigint / 120) %% s.n], NULL"
         " FROM generate_series(%(start)s::timestamptz + interval '10 seconds', %(end)s,"
         "   interval '10 seconds') t, generate_series(1, 20) b,"
         " (SELECT %(ids)s::text[] AS ids, %(lons)s::float8[] AS lons,"
         "   %(lats)s::float8[] AS lats, cardinality(%(ids)s::text[]) AS n) s"
         " WHERE extract(hour FROM t AT TIME ZONE 'Asia/Ho_Chi_Minh') BETWEEN 5 AND 21"
         " ORDER BY t",
         arrays([(s.stop_id, s.lon, s.lat) for s in stops])),
    ]
    counts = {}
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        await conn.execute("SET synchronous_commit = off")
        for table, sql, params in statements:
            began = time.perf_counter()
            cur = await conn.execute(sql, {**span, **params})
            counts[table] = cur.rowcount
            print(f"  {table}: {cur.rowcount:,} rows in {time.perf_counter() - began:.1f} s",
                  flush=True)
        await conn.execute(
            "INSERT INTO situations (type, severity, base_severity, status, title, title_en,"
            " rule_id, district, opened_at, resolved_at) SELECT 'congestion', 'major', 'major',"
            " 'resolved', 'Ùn tắc', 'Congestion', 'r1', '002', t, t + interval '40 minutes'"
            " FROM generate_series(%(start)s::timestamptz, %(end)s, interval '2 hours') t",
            span)
        # Autovacuum summarises the BRIN time indexes of append-only tables; do it now.
        await conn.execute("VACUUM ANALYZE")
    return counts


def _settings(db: str, redis_url: str) -> Settings:
    return Settings(database={"url": db}, auth={"secret": SECRET}, feeds=["parking"],
                    redis={"url": redis_url, "prefix": f"ioc-bench-{uuid.uuid4().hex[:8]}"})


async def _first_frames(host: str, starts: list[datetime], speed: float) -> dict[str, Any]:
    firsts, alls, deltas = [], [], []
    for start in starts:
        async with websockets.connect(f"ws://{host}/ws/replay?token={token(Role.PLANNER)}",
                                      max_size=None) as ws:
            await ws.recv()  # hello
            began = time.perf_counter()
            await ws.send(orjson.dumps({"type": "replay", "start": start.isoformat(),
                                        "end": (start + timedelta(hours=6)).isoformat(),
                                        "speed": speed}).decode())
            snapshots = 0
            while True:
                message = orjson.loads(await ws.recv())
                if message["type"] == "snapshot":
                    snapshots += 1
                    if snapshots == 1:
                        firsts.append(time.perf_counter() - began)
                    if snapshots == 5:
                        alls.append(time.perf_counter() - began)
                elif message["type"] == "delta":
                    deltas.append(time.perf_counter() - began)
                    break
    return {"replays": len(starts), "speed": speed,
            "first_snapshot_ms": _ms(firsts), "all_snapshots_ms": _ms(alls),
            "first_delta_ms": _ms(deltas)}


def _ms(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values) * 1000, 1),
            "max": round(max(values) * 1000, 1)}


async def _state_at(db: str, instants: list[datetime]) -> dict[str, Any]:
    pool = await open_pool(db)
    index = AreaIndex(PACK.layer(PACK.default_layer))
    coordinates = Coordinates.of(PACK)
    times = []
    try:
        for at in instants:
            async with pool.connection() as conn:
                began = time.perf_counter()
                state = await state_at(conn, PACK, PACK.default_layer, index, coordinates, at)
                times.append(time.perf_counter() - began)
            assert state["assets"]["parking"], "no car park at T: the data did not load"
    finally:
        await pool.close()
    return {"instants": len(instants), **_ms(times)}


async def _exports(host: str, end: datetime, days: int) -> list[dict[str, Any]]:
    out = []
    start = end - timedelta(days=days)
    headers = {"Authorization": f"Bearer {token(Role.PLANNER)}"}
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=600,
                                 headers=headers) as client:
        for feed, rows_sql in (("parking", "parking_occupancy"),
                               ("brt_vehicles", "brt_vehicle_positions")):
            for fmt in ("csv", "parquet", "geojson"):
                size = 0
                began = time.perf_counter()
                async with client.stream("GET", f"/api/export/{feed}", params={
                        "format": fmt, "start": start.isoformat(), "end": end.isoformat()}) as r:
                    r.raise_for_status()
                    async for part in r.aiter_raw():
                        size += len(part)
                elapsed = time.perf_counter() - began
                out.append({"feed": feed, "table": rows_sql, "format": fmt, "days": days,
                            "bytes": size, "seconds": round(elapsed, 3)})
    return out


async def _count(db: str, table: str, start: datetime, end: datetime) -> int:
    async with await psycopg.AsyncConnection.connect(db) as conn:
        cur = await conn.execute(
            f"SELECT count(*) FROM {table} WHERE time >= %s AND time < %s", (start, end))
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def main(days: int, export_days: int, admin: str, redis_url: str) -> dict[str, Any]:
    """Load, measure, and return the figures."""
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    name = f"ioc_bench_tm_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db = psycopg.conninfo.make_conninfo(admin, dbname=name)
    try:
        report = await upgrade(db)
        print(f"loading {days} days into {name}", flush=True)
        began = time.perf_counter()
        counts = await _load(db, days, end)
        load_s = time.perf_counter() - began
        # Ten instants spread over the range (days and nights, minutes not on the hour).
        instants = [end - timedelta(days=days) * (0.05 + 0.093 * i) for i in range(10)]
        state = await _state_at(db, instants)
        print(f"state at T: {state}", flush=True)
        async with served(_settings(db, redis_url)) as base:
            host = base.removeprefix("http://")
            frames = await _first_frames(host, instants[:6], speed=60)
            print(f"first frame: {frames}", flush=True)
            exports = await _exports(host, end, export_days)
        for item in exports:
            rows = await _count(db, item["table"], end - timedelta(days=export_days), end)
            item.update(rows=rows, rows_per_s=round(rows / item["seconds"]),
                        mb_per_s=round(item["bytes"] / 2**20 / item["seconds"], 1))
            print(f"export {item}", flush=True)
        async with await psycopg.AsyncConnection.connect(db) as conn:
            row = await (await conn.execute("SHOW server_version")).fetchone()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "postgres": str(row[0]) if row else "?", "storage_mode": report.mode},
        "data": {"days": days, "rows": counts, "load_seconds": round(load_s, 1)},
        "targets_ms": TARGETS_MS,
        "replay_first_frame": frames,
        "state_at": state,
        "export": exports,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30, help="days of history to load")
    parser.add_argument("--export-days", type=int, default=7, help="days each export covers")
    parser.add_argument("--out", default="timemachine.json", help="file under bench/results")
    args = parser.parse_args()
    admin_url = os.environ.get("IOC_BENCH_ADMIN_DATABASE_URL",
                               "postgresql://postgres@127.0.0.1:5432/postgres")
    redis = os.environ.get("IOC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    figures = asyncio.run(main(args.days, args.export_days, admin_url, redis))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = Path(RESULTS / args.out)
    path.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    print(f"wrote {path}")
