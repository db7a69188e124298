"""History benchmark: a 30-day hourly district KPI series from the roll-ups, against the
same answer computed from raw rows.

30 days of whole-city data go straight into a fresh database with COPY (the ingest
benchmark measures the pipeline; this one measures reading history):
- parking: the pack's 43 car parks, cars and motorbikes, a reading a minute each, with a
  daily occupancy curve (3.7 M rows for 30 days);
- queues: every one-stop shop's tickets on weekdays 08:00-17:00, issued, called and served
  (about 0.4 M rows);
- BRT: 18 buses of line 01 reporting every 30 s from 05:00 to 22:00 (1.1 M rows).
Signal events are left out: the 41 intersections log tens of millions of events a month,
more than this machine loads in a benchmark run; their roll-ups are computed the same way.

The roll-ups are then built by the maintainer as in plain-PostgreSQL mode, and each query
is timed through the functions the API uses (`kpi_series`) and from raw rows
(`raw_kpi_series`), the two answers asserted equal. Results: bench/results/history.json.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
from psycopg_pool import AsyncConnectionPool

from bench.ingest import PACK, RESULTS, _machine, _servers
from feeds.clock import Clock
from geo import AreaIndex, CityPack, load_pack
from ioc.history.maintainer import Maintainer
from ioc.history.rollups import queue_targets
from ioc.history.series import SeriesRequest, kpi_series, raw_kpi_series, request
from ioc.settings import HistorySettings
from ioc.storage.migrate import upgrade
from ioc.storage.pool import open_pool

TARGET_MS = 100.0
START = datetime(2026, 10, 1, tzinfo=UTC)
HANOI = timedelta(hours=7)


_ASSIGNED: dict[str, dict[str, str | None]] = {}


def _districts(pack: CityPack, kind: str) -> dict[str, str | None]:
    """Each asset's district, assigned from its position (once per kind)."""
    if kind not in _ASSIGNED:
        index = AreaIndex(pack.layer(pack.default_layer))
        features = pack.asset_features(kind)
        codes = index.assign([f["geometry"]["coordinates"][0] for f in features],
                             [f["geometry"]["coordinates"][1] for f in features])
        _ASSIGNED[kind] = {str(f["properties"]["id"]): c
                           for f, c in zip(features, codes, strict=True)}
    return _ASSIGNED[kind]


def _parking_day(pack: CityPack, day: datetime, rng: random.Random) -> str:
    """One day of readings a minute per car park and vehicle type, as COPY text."""
    districts = _districts(pack, "parking")
    capacities = {str(f["properties"]["id"]): f["properties"]["capacity"]
                  for f in pack.asset_features("parking")}
    lines = []
    for minute in range(24 * 60):
        at = day + timedelta(minutes=minute)
        local_h = ((at + HANOI).hour * 60 + (at + HANOI).minute) / 60
        demand = 0.15 + 0.7 * max(0.0, math.sin(math.pi * (local_h - 6) / 16))
        stamp = at.isoformat()
        for site, capacity in capacities.items():
            district = districts[site] or "\\N"
            for kind, places in capacity.items():
                occupied = min(places, max(0, round(places * (demand + rng.gauss(0, 0.05)))))
                lines.append(f"{stamp}\t{site}\t{kind}\t{district}\t{places}\t{occupied}\t"
                             f"{'full' if occupied == places else 'spacesAvailable'}\n")
    return "".join(lines)


def _queues_day(pack: CityPack, day: datetime, rng: random.Random) -> str:
    """One weekday's tickets at every desk: issued, called after a wait, then served."""
    if (day + HANOI).weekday() >= 5:
        return ""
    districts = _districts(pack, "service_points")
    lines = []
    for point, district in districts.items():
        code = district or "\\N"
        for n in range(rng.randint(80, 200)):
            issued = day + timedelta(hours=1, seconds=rng.uniform(0, 9 * 3600))
            called = issued + timedelta(minutes=rng.expovariate(1 / 12))
            served = called + timedelta(minutes=rng.uniform(3, 15))
            ticket = f"{(day + HANOI):%Y%m%d}-{n:04d}"
            for event, at, counter in (("issued", issued, "\\N"), ("called", called, "c1"),
                                       ("served", served, "c1")):
                lines.append(f"{at.isoformat()}\t{point}\t{ticket}\t{event}\tgeneral\t"
                             f"{counter}\t{code}\n")
    return "".join(lines)


def _brt_day(pack: CityPack, day: datetime, rng: random.Random) -> str:
    """18 buses along line 01 every 30 s from 05:00 to 22:00 Hanoi time."""
    index = AreaIndex(pack.layer(pack.default_layer))
    # Line 01 runs from Kim Mã (105.812, 21.031) to Yên Nghĩa (105.735, 20.957).
    steps = 17 * 120
    lines = []
    for bus in range(18):
        phase = bus / 18
        lons, lats, times = [], [], []
        for step in range(steps):
            at = day - HANOI + timedelta(hours=5, seconds=30 * step)
            x = abs(((step / 240 + phase) % 2) - 1)  # to and fro, 2 hours a round trip
            lons.append(105.812 + (105.735 - 105.812) * x)
            lats.append(21.031 + (20.957 - 21.031) * x)
            times.append(at)
        codes = index.assign(lons, lats)
        for at, lon, lat, code in zip(times, lons, lats, codes, strict=True):
            status = "STOPPED_AT" if rng.random() < 0.3 else "IN_TRANSIT_TO"
            occupancy = rng.choice(["MANY_SEATS_AVAILABLE", "FEW_SEATS_AVAILABLE",
                                    "STANDING_ROOM_ONLY", "FULL"])
            lines.append(f"{at.isoformat()}\tbus-{bus:02d}\t\\N\t01\t0\t\\N\t\\N\t{status}\t"
                         f"{occupancy}\t{lon}\t{lat}\t{code or chr(92) + 'N'}\n")
    return "".join(lines)


TABLES = {
    "parking_occupancy": ("time, site_id, vehicle_type, district, capacity, occupied, status",
                          _parking_day),
    "queue_ticket_events": ("time, point_id, ticket_id, event, service_type, counter_id,"
                            " district", _queues_day),
    "brt_vehicle_positions": ("time, vehicle_id, trip_id, route_id, direction_id, stop_id,"
                              " stop_sequence, status, occupancy, lon, lat, district", _brt_day),
}


async def _load(db: str, pack: CityPack, days: int) -> dict[str, int]:
    rng = random.Random(2026)
    rows: dict[str, int] = dict.fromkeys(TABLES, 0)
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        for d in range(days):
            day = START + timedelta(days=d)
            for table, (columns, make) in TABLES.items():
                text = make(pack, day, rng)
                async with conn.cursor() as cur, cur.copy(
                        f"COPY {table} ({columns}) FROM STDIN".encode()) as copy:
                    await copy.write(text.encode())
                rows[table] += text.count("\n")
        for table in TABLES:
            await conn.execute(f"ANALYZE {table}".encode())
    return rows


async def _time(pool: AsyncConnectionPool, runs: int, query: Any) -> tuple[list[float], Any]:
    timings, answer = [], None
    for _ in range(runs):
        async with pool.connection() as conn:
            began = time.perf_counter()
            answer = await query(conn)
            timings.append((time.perf_counter() - began) * 1000)
    return timings, answer


async def _measure(pool: AsyncConnectionPool, asked: SeriesRequest, targets: dict[str, float],
                   runs: int) -> dict[str, Any]:
    rollup_ms, from_rollups = await _time(pool, runs, lambda c: kpi_series(c, asked))
    raw_ms, from_raw = await _time(pool, max(2, runs // 10),
                                   lambda c: raw_kpi_series(c, asked, targets))
    assert from_rollups == from_raw, f"{asked.rollup.name}.{asked.kpi.name}: answers differ"
    return {"feed": asked.rollup.name, "kpi": asked.kpi.name, "district": asked.district,
            "bucket": asked.width, "points": len(from_rollups),
            "points_with_data": sum(v is not None for _, v in from_rollups),
            "rollup_ms_median": round(statistics.median(rollup_ms), 2),
            "rollup_ms_best": round(min(rollup_ms), 2),
            "raw_ms_median": round(statistics.median(raw_ms), 1),
            "speed_up": round(statistics.median(raw_ms) / statistics.median(rollup_ms), 1),
            "equal": True, "runs": runs}


async def main(days: int, runs: int) -> dict[str, Any]:
    """Load, roll up, measure, and return the figures."""
    pack = load_pack(PACK)
    targets = queue_targets(pack)
    with _servers() as (admin, _):
        name = f"ioc_bench_history_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        db = psycopg.conninfo.make_conninfo(admin, dbname=name)
        try:
            report = await upgrade(db)
            began = time.perf_counter()
            rows = await _load(db, pack, days)
            load_s = time.perf_counter() - began
            pool = await open_pool(db, 1, 2)
            try:
                end = START + timedelta(days=days)
                began = time.perf_counter()
                await Maintainer(pool, HistorySettings(), targets, report.mode,
                                 Clock.pinned(end)).run_once()
                rollup_s = time.perf_counter() - began
                async with pool.connection() as conn:
                    await conn.execute("ANALYZE")
                    version = await (await conn.execute("SHOW server_version")).fetchone()
                # The district with the most car parks.
                sites = list(_districts(pack, "parking").values())
                district = str(max((c for c in sites if c), key=sites.count))
                queries = [request("parking", "occupancy", START, end, None, district),
                           request("queues", "service_level", START, end, None, district),
                           request("brt", "crowded_share", START, end, None, district)]
                measured = [await _measure(pool, q, targets, runs) for q in queries]
            finally:
                await pool.close()
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(), "server_version": str(version[0]) if version else "?",
        "mode": report.mode, "days": days, "rows": rows, "load_s": round(load_s, 1),
        "rollup_build_s": round(rollup_s, 1), "target_ms": TARGET_MS,
        "queries": measured,
        "method": "30-day range, the server's bucket (1h), one district; each query run in a "
                  "pooled connection, wall clock around the call; median of `runs` (raw: a "
                  "tenth as many, at least 2); answers asserted equal",
    }


def cli() -> None:
    """`python -m bench.history [--days N] [--runs N] [--out FILE]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=30)
    # The server is IOC_BENCH_ADMIN_DATABASE_URL's; a run against another one (TimescaleDB,
    # say) is written to a file of its own.
    parser.add_argument("--out", default="history.json",
                        help="file name under bench/results (default: history.json)")
    args = parser.parse_args()
    result = asyncio.run(main(args.days, args.runs))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / args.out
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    for q in result["queries"]:
        print(f"{q['feed']}.{q['kpi']} district {q['district']}: roll-ups "
              f"{q['rollup_ms_median']} ms, raw rows {q['raw_ms_median']} ms "
              f"(x{q['speed_up']}), {q['points']} points, equal")
    print(f"loaded {result['rows']} in {result['load_s']} s; roll-ups built in "
          f"{result['rollup_build_s']} s; written to {out}")


if __name__ == "__main__":
    cli()
