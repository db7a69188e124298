"""Exports parsed back (csv, pyarrow.parquet, json) equal the stored rows they were made of."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pyarrow.parquet as pq
import pytest
from psycopg_pool import AsyncConnectionPool

from ioc.history.export import DATASETS, ExportRequest, parquet_bytes, read_chunks
from ioc.storage.brt import write_positions
from ioc.storage.ledgers import write_online, write_taps
from ioc.storage.parking import write_parking
from ioc.storage.pool import open_pool
from tests.auth import bearer
from tests.ioc.conftest import PACK
from tests.ioc.inprocess import app_settings, served
from tests.ioc.test_state_at import SITES, at, bus, district, parking, text

# Two car parks in different districts, so that a district filter has something to leave out.
SITE_X = sorted(SITES)[0]
SITE_Y = next(s for s in sorted(SITES) if district(*SITES[s]) != district(*SITES[SITE_X]))
ZONE = ZoneInfo(PACK.timezone)


@pytest.fixture
async def pool(db: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = await open_pool(db)
    async with pool.connection() as conn:
        await write_parking(conn, [parking(site, m, occupied=m + i)
                                   for m in range(0, 120)
                                   for i, site in enumerate((SITE_X, SITE_Y))])
        await write_positions(conn, [bus("bus-1", m, 105.70 + m / 1000, 21.0) for m in range(60)])
        await write_taps(conn, [(text(at(m)), f"card-hash-{m % 7}", "st-kim-ma", "002")
                                for m in range(30)])
        await write_online(conn, [("2025-03-04", "002", "3", 5), ("2025-03-05", "002", "4", 8)])
    yield pool
    await pool.close()


@pytest.fixture
async def client(pool: AsyncConnectionPool, db: str, redis_url: str,
                 redis_prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    async with served(app_settings(db, redis_url, redis_prefix)) as base, \
            httpx.AsyncClient(base_url=base, timeout=60) as http:
        yield http


async def _source(pool: AsyncConnectionPool, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    async with pool.connection() as conn:
        return list(await (await conn.execute(sql, params)).fetchall())


async def _export(client: httpx.AsyncClient, feed: str, fmt: str, **query: Any) -> bytes:
    response = await client.get(f"/api/export/{feed}", headers=bearer("planner"),
                                params={"format": fmt, **query})
    assert response.status_code == 200, response.text
    return response.content


def _csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


async def test_csv_parquet_and_geojson_hold_the_stored_rows_of_the_range(
        pool: AsyncConnectionPool, client: httpx.AsyncClient) -> None:
    window = {"start": at(10).isoformat(), "end": at(70).isoformat()}
    source = await _source(
        pool, "SELECT time, site_id, vehicle_type, district, capacity, occupied, status"
        " FROM parking_occupancy WHERE time >= %s AND time < %s ORDER BY time, site_id",
        at(10), at(70))
    assert len(source) == 120
    names = [c.name for c in DATASETS["parking"].columns]

    rows = _csv(await _export(client, "parking", "csv", **window))
    assert [r["site_id"] for r in rows] == [s[1] for s in source]
    assert [datetime.fromisoformat(r["time"]) for r in rows] == [s[0] for s in source]
    assert [(int(r["capacity"]), int(r["occupied"]), r["status"], r["district"])
            for r in rows] == [s[4:] + s[3:4] for s in source]

    table = pq.read_table(io.BytesIO(await _export(client, "parking", "parquet", **window)))
    assert table.column_names == names
    assert [tuple(r.values()) for r in table.to_pylist()] == source

    collection = json.loads(await _export(client, "parking", "geojson", **window))
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert [f["properties"]["occupied"] for f in features] == [s[5] for s in source]
    assert [datetime.fromisoformat(f["properties"]["time"]) for f in features] \
        == [s[0] for s in source]
    assert all(f["geometry"]["coordinates"] == list(SITES[f["properties"]["site_id"]])
               for f in features)


async def test_a_district_filter_keeps_that_districts_rows_only(
        pool: AsyncConnectionPool, client: httpx.AsyncClient) -> None:
    code = district(*SITES[SITE_Y])
    rows = _csv(await _export(client, "parking", "csv", start=at(0).isoformat(),
                              end=at(120).isoformat(), district=code))
    assert len(rows) == 120 and {r["site_id"] for r in rows} == {SITE_Y}
    assert {r["district"] for r in rows} == {code}


async def test_a_bounding_box_filters_by_position(
        pool: AsyncConnectionPool, client: httpx.AsyncClient) -> None:
    content = await _export(client, "brt_vehicles", "geojson", start=at(0).isoformat(),
                            end=at(60).isoformat(), bbox="105.71,20.9,105.72,21.1")
    lons = [f["geometry"]["coordinates"][0] for f in json.loads(content)["features"]]
    assert lons == pytest.approx([105.70 + m / 1000 for m in range(10, 21)])
    lon, lat = SITES[SITE_X]
    around_x = f"{lon - 1e-4},{lat - 1e-4},{lon + 1e-4},{lat + 1e-4}"
    rows = _csv(await _export(client, "parking", "csv", start=at(0).isoformat(),
                              end=at(5).isoformat(), bbox=around_x))
    assert [r["site_id"] for r in rows] == [SITE_X] * 5


async def test_taps_leave_without_the_card_hash(client: httpx.AsyncClient) -> None:
    window = {"start": at(0).isoformat(), "end": at(30).isoformat()}
    rows = _csv(await _export(client, "brt_taps", "csv", **window))
    assert len(rows) == 30 and list(rows[0]) == ["time", "stop_id", "district"]
    table = pq.read_table(io.BytesIO(await _export(client, "brt_taps", "parquet", **window)))
    assert "card_hash" not in table.column_names
    geojson = await _export(client, "brt_taps", "geojson", **window)
    assert b"card-hash" not in geojson and b"card_hash" not in geojson


async def test_online_counts_export_by_the_citys_days(client: httpx.AsyncClient) -> None:
    rows = _csv(await _export(client, "online_services", "csv",
                              start="2025-03-04T00:00:00+07:00", end="2025-03-05T00:00:00+07:00"))
    assert [(r["day"], r["level"], r["applications"]) for r in rows] == [("2025-03-04", "3", "5")]


async def test_every_export_is_audited_and_needs_a_planner(
        pool: AsyncConnectionPool, client: httpx.AsyncClient) -> None:
    query = {"format": "csv", "start": at(0).isoformat(), "end": at(5).isoformat(),
             "district": "002"}
    assert (await client.get("/api/export/parking", params=query,
                             headers=bearer("viewer"))).status_code == 403
    assert (await client.get("/api/export/parking", params=query,
                             headers=bearer("operator"))).status_code == 403
    assert (await client.get("/api/export/nothing", params=query,
                             headers=bearer("planner"))).status_code == 404
    assert (await client.get("/api/export/online_services", params={**query, "bbox": "1,2,3,4"},
                             headers=bearer("planner"))).status_code == 422
    assert (await client.get("/api/export/parking", params={**query, "bbox": "1,2"},
                             headers=bearer("planner"))).status_code == 422
    await _export(client, "parking", "csv", **{k: v for k, v in query.items() if k != "format"})
    audited = await _source(pool, "SELECT actor, action, target, detail FROM audit_log"
                                  " WHERE action = 'history.export'")
    assert [(a, t, d["district"], d["format"]) for a, _, t, d in audited] \
        == [("test-planner", "parking", "002", "csv")]


async def test_parquet_is_written_a_row_group_per_chunk(pool: AsyncConnectionPool) -> None:
    asked = ExportRequest("parking", at(0), at(120))
    async with pool.connection() as conn:
        chunks = read_chunks(conn, asked, {}, ZONE, chunk_rows=50)
        parts = [part async for part in parquet_bytes(DATASETS["parking"], chunks)]
    assert len([p for p in parts if p]) > 2  # bytes leave before the export is complete
    parquet = pq.ParquetFile(io.BytesIO(b"".join(parts)))
    assert parquet.metadata.num_row_groups == 240 // 50 + 1
    assert parquet.metadata.num_rows == 240
    assert parquet.read().column("time").to_pylist()[0] == at(0)
