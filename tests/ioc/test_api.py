"""The running system through its HTTP and WebSocket interfaces, as the dashboard sees it."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import psycopg
import websockets
from redis.asyncio import Redis

from feeds.base import Rejected
from ioc.bus import RedisBus
from tests.ioc.server import Server, wait_until


def _timescaledb_installed(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone() is not None


def test_health_reports_database_redis_mode_and_a_fresh_parking_feed(
    server: Server, database_url: str
) -> None:
    def fresh() -> dict | None:  # type: ignore[type-arg]
        body = httpx.get(f"{server.base_url}/api/health").json()
        parking = body["feeds"]["parking"]
        return body if parking["lag_seconds"] is not None else None

    body = wait_until(fresh)
    mode = "timescaledb" if _timescaledb_installed(database_url) else "postgresql"
    assert body["database"] == {"ok": True, "error": None, "mode": mode}
    assert body["redis"]["ok"] is True
    assert body["feeds"]["parking"]["lag_seconds"] < 10
    assert body["feeds"]["parking"]["stored"] > 0
    assert body["status"] == "ok"


def test_districts_are_geojson_with_live_parking_figures(server: Server) -> None:
    def with_figures() -> dict | None:  # type: ignore[type-arg]
        body = server.get("/api/districts").json()
        hk = next(f for f in body["features"] if f["id"] == "002")
        return body if hk["properties"]["parking"]["occupancy"] is not None else None

    body = wait_until(with_figures)
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 30
    hk = next(f for f in body["features"] if f["id"] == "002")
    assert hk["properties"]["name"] == "Hoàn Kiếm"
    assert hk["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    figures = hk["properties"]["parking"]
    assert figures["available"] == figures["capacity"] - figures["occupied"]
    assert 0 <= figures["occupancy"] <= 1


def test_car_parks_carry_names_and_live_status(server: Server) -> None:
    body = server.get("/api/parking/sites").json()
    assert len(body["features"]) >= 20
    props = body["features"][0]["properties"]
    assert props["name"]
    assert props["status"] in {"spacesAvailable", "almostFull", "full", "closed", "unknown"}


async def test_live_socket_sends_snapshots_then_district_deltas(server: Server) -> None:
    async with websockets.connect(server.ws_url) as ws:
        hello = orjson.loads(await ws.recv())
        assert hello["type"] == "hello"
        snapshots = {}
        for _ in range(2):
            message = orjson.loads(await ws.recv())
            assert message["type"] == "snapshot"
            snapshots[message["stream"]] = message
        assert len(snapshots["districts"]["districts"]) == 30
        while True:
            # A hang guard, not a speed check: the simulator reports every 2 s.
            message = orjson.loads(await asyncio.wait_for(ws.recv(), timeout=15.0))
            if message["type"] == "delta" and message["stream"] == "districts":
                break
        assert message["seq"] > snapshots["districts"]["seq"]
        assert {"code", "parking"} <= set(message["districts"][0])


async def test_bad_client_messages_get_an_error_and_the_connection_lives_on(
    server: Server,
) -> None:
    async with websockets.connect(server.ws_url) as ws:
        await ws.send("this is not json")
        await ws.send(orjson.dumps({"type": "launch_missiles"}).decode())
        await ws.send(orjson.dumps({"type": "ping"}).decode())
        seen = []
        while "pong" not in seen:
            message = orjson.loads(await asyncio.wait_for(ws.recv(), timeout=5.0))
            seen.append(message["type"])
            if message["type"] == "error":
                assert message["code"] in {"bad_json", "unknown_type"}
                assert message["reason"]
        assert seen.count("error") == 2


def test_openapi_docs_are_served(server: Server) -> None:
    assert httpx.get(f"{server.base_url}/docs").status_code == 200
    paths = httpx.get(f"{server.base_url}/openapi.json").json()["paths"]
    assert {"/api/health", "/api/districts", "/api/parking/sites"} <= set(paths)


def test_the_dashboard_is_served_from_the_app(server: Server) -> None:
    page = httpx.get(f"{server.base_url}/")
    assert page.status_code == 200
    assert "<html" in page.text.lower()


async def test_rejected_records_are_listed_with_their_reason(server: Server) -> None:
    redis = Redis.from_url(server.env["IOC_REDIS__URL"])
    try:
        bus = RedisBus(redis, server.env["IOC_REDIS__PREFIX"])
        await bus.reject("parking", [Rejected("capacity must be a non-negative integer, got -3",
                                              '{"id": "x", "capacity": -3}')])
    finally:
        await redis.aclose()

    def listed() -> list | None:  # type: ignore[type-arg]
        rows = server.get("/api/feeds/parking/rejected", role="operator").json()
        return rows or None

    [row] = wait_until(listed)
    assert row["reason"] == "capacity must be a non-negative integer, got -3"
    health = httpx.get(f"{server.base_url}/api/health").json()["feeds"]["parking"]
    assert health["rejected_by_reason"] == {"capacity must be a non-negative integer, got …": 1}
    assert health["rejected"] == 1
    assert row["payload"] == '{"id": "x", "capacity": -3}'
    assert server.get("/api/feeds/nope/rejected", role="operator").status_code == 404


def test_the_packs_assets_are_served_by_kind(server: Server) -> None:
    signals = server.get("/api/assets/signals").json()["features"]
    assert len(signals) == 41
    assert all(f["geometry"]["type"] == "Point" for f in signals)
    points = server.get("/api/assets/service_points").json()["features"]
    assert len(points) == 31
    assert server.get("/api/assets/spaceports").status_code == 404


def test_layers_are_listed_and_served_simplified_for_the_zoom(server: Server) -> None:
    listed = server.get("/api/layers").json()
    assert [(layer["name"], layer["units"], layer["default"]) for layer in listed] == [
        ("districts", 30, True)]

    def vertices(zoom: int) -> int:
        body = server.get("/api/layers/districts", params={"zoom": zoom}).json()
        assert len(body["features"]) == 30
        return sum(len(ring) for f in body["features"]
                   for ring in f["geometry"]["coordinates"])

    assert vertices(7) < vertices(14)
    summary = server.get("/api/layers/districts/002").json()
    assert summary["name"] == "Hoàn Kiếm"
    assert set(summary) >= {"parking", "signals", "queues", "brt"}
    assert server.get("/api/layers/districts/999").status_code == 404
    assert server.get("/api/layers/moon").status_code == 404


def test_assets_by_area_bounding_box_and_distance(server: Server) -> None:
    url = "/api/assets/parking"
    in_hoan_kiem = server.get(url, params={"area": "002"}).json()["features"]
    assert in_hoan_kiem and all(f["properties"]["address"].endswith("Hoàn Kiếm")
                                for f in in_hoan_kiem)
    boxed = server.get(url, params={"bbox": "105.84,21.02,105.85,21.03"}).json()["features"]
    assert {f["id"] if "id" in f else f["properties"]["id"] for f in boxed} >= {
        "hk-ly-thuong-kiet"}
    # 500 m around Hoàn Kiếm lake, nearest first.
    near = server.get(url, params={"near": "105.8523,21.0287", "radius_m": 500}).json()
    distances = [f["properties"]["distance_m"] for f in near["features"]]
    assert distances == sorted(distances) and all(d <= 500 for d in distances) and distances
    assert server.get(url, params={"bbox": "1,2,3"}).status_code == 422


def test_kpis_come_per_district_with_a_health_score(server: Server) -> None:
    body = server.get("/api/kpis/districts", timeout=30).json()
    assert len(body["areas"]) == 30
    hoan_kiem = body["areas"]["002"]
    assert set(hoan_kiem) >= {"signals_normal_share", "parking_occupancy", "queue_service_level",
                              "brt_cv", "brt_ewt_min", "online_share", "health"}
    assert hoan_kiem["health"] is None or 0 <= hoan_kiem["health"] <= 1
