"""The history API over HTTP: KPI series at the server's bucket or the asked one, two
periods aligned, and clear refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest

from ioc.history.maintainer import rebuild
from ioc.history.rollups import ROLLUPS, parameters
from ioc.history.series import raw_kpi_series, request
from tests.auth import bearer
from tests.ioc.inprocess import app_settings, in_process
from tests.ioc.rawrows import HOURS, T0, TARGETS, raw_rows, store

WEEK = timedelta(days=7)


async def _stored(db: str, *starts: Any) -> None:
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        for n, start in enumerate(starts):
            await store(conn, raw_rows(seed=20 + n, start=start))
            for rollup in ROLLUPS.values():
                await rebuild(conn, rollup, start - timedelta(hours=1),
                              start + timedelta(hours=HOURS + 1), parameters(TARGETS))


@pytest.fixture
async def client(db: str, redis_url: str, redis_prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    """The real application in this process, on the test database."""
    async with in_process(app_settings(db, redis_url, redis_prefix)) as (_, client):
        yield client


async def _get(client: httpx.AsyncClient, path: str, role: str = "viewer",
               **params: Any) -> httpx.Response:
    return await client.get(path, headers=bearer(role),
                            params={k: v.isoformat() if hasattr(v, "isoformat") else v
                                    for k, v in params.items()})


async def test_a_district_series_comes_at_the_bucket_its_range_calls_for(
    db: str, client: httpx.AsyncClient
) -> None:
    await _stored(db, T0)
    end = T0 + timedelta(hours=HOURS)
    expected = {"1m": (T0, end), "15m": (T0 - timedelta(days=2), end),
                "1h": (T0 - timedelta(days=20), end)}
    for bucket, (start, stop) in expected.items():
        response = await _get(client, "/api/history/parking/occupancy", start=start,
                              end=stop, district="001")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["bucket"] == bucket
        assert body["unit"] == "share (0-1)"
        asked = request("parking", "occupancy", start, stop, bucket, "001")
        async with await psycopg.AsyncConnection.connect(db) as conn:
            raw = await raw_kpi_series(conn, asked, TARGETS)
        assert [p["v"] for p in body["points"]] == [v for _, v in raw]
        assert [p["t"] for p in body["points"]] == [t.isoformat() for t, _ in raw]
        assert sum(p["v"] is not None for p in body["points"]) >= HOURS
    # The same KPI asked at 15 minutes over three hours, and for one car park.
    body = (await _get(client, "/api/history/parking/readings", start=T0, end=end,
                       bucket="15m", asset="site-1")).json()
    assert len(body["points"]) == HOURS * 4
    # site-1 reports two vehicle types a minute: 30 readings in each quarter hour.
    assert {p["v"] for p in body["points"]} == {30}


async def test_this_week_is_compared_with_last_week_bucket_by_bucket(
    db: str, client: httpx.AsyncClient
) -> None:
    await _stored(db, T0, T0 - WEEK)
    end = T0 + timedelta(hours=HOURS)
    response = await _get(client, "/api/history/compare", feed="queues",
                          kpi="tickets_issued", start=T0, end=end, offset="7d", bucket="1h",
                          district="001")
    assert response.status_code == 200, response.text
    body = response.json()
    now = (await _get(client, "/api/history/queues/tickets_issued", start=T0, end=end,
                      bucket="1h", district="001")).json()["points"]
    then = (await _get(client, "/api/history/queues/tickets_issued", start=T0 - WEEK,
                       end=end - WEEK, bucket="1h", district="001")).json()["points"]
    assert [p["t"] for p in body["points"]] == [p["t"] for p in now]
    assert [p["t_previous"] for p in body["points"]] == [p["t"] for p in then]
    assert [p["v"] for p in body["points"]] == [p["v"] for p in now]
    assert [p["v_previous"] for p in body["points"]] == [p["v"] for p in then]
    assert all(p["delta"] == p["v"] - p["v_previous"] for p in body["points"])
    assert body["previous"]["start"] == (T0 - WEEK).isoformat()
    assert all(p["v"] and p["v_previous"] for p in body["points"])


async def test_bad_requests_are_refused_with_the_reason(client: httpx.AsyncClient) -> None:
    end = T0 + timedelta(hours=1)
    cases = [
        ("/api/history/weather/rain", {"start": T0, "end": end}, "unknown feed"),
        ("/api/history/parking/speed", {"start": T0, "end": end}, "no KPI 'speed'"),
        ("/api/history/parking/occupancy", {"start": end, "end": T0}, "before end"),
        ("/api/history/parking/occupancy",
         {"start": T0.replace(tzinfo=None), "end": end}, "time zone"),
        ("/api/history/parking/occupancy",
         {"start": T0 - timedelta(days=30), "end": end, "bucket": "1m"}, "wider bucket"),
        ("/api/history/parking/occupancy",
         {"start": T0, "end": end, "district": "001", "asset": "site-1"}, "not both"),
        ("/api/history/compare",
         {"feed": "parking", "kpi": "occupancy", "start": T0, "end": end, "offset": "lastweek"},
         "offset"),
        ("/api/history/compare",
         {"feed": "parking", "kpi": "occupancy", "start": T0, "end": end, "bucket": "1h",
          "offset": "90m"}, "whole number"),
    ]
    for path, params, reason in cases:
        response = await _get(client, path, **params)
        assert response.status_code == 422, (path, params, response.text)
        assert reason in response.text, response.text
    bad_bucket = await _get(client, "/api/history/parking/occupancy", start=T0, end=end,
                            bucket="5m")
    assert bad_bucket.status_code == 422


async def test_history_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    params = {"start": T0.isoformat(), "end": (T0 + timedelta(hours=1)).isoformat()}
    anonymous = await client.get("/api/history/parking/occupancy", params=params)
    assert anonymous.status_code == 401
    catalogue = (await _get(client, "/api/history")).json()
    assert set(catalogue["feeds"]) == set(ROLLUPS)
    assert "service_level" in catalogue["feeds"]["queues"]["kpis"]
