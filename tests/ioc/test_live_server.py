"""/ws/live end to end: `ioc api` processes fed by deltas published on the real Redis bus."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection

from ioc.bus import RedisBus
from tests.auth import TEST_AUTH_SECRET, access_token, bearer
from tests.conftest import delete_keys
from tests.ioc.scrape import Samples, samples, value
from tests.ioc.server import PROJECT, Server, free_port, stop

# Hang guards only: every wait below ends as soon as its condition holds.
GUARD = 20.0
# Car parks of the pack's catalogue (their deltas carry no position; the catalogue places them).
LY_THUONG_KIET = "hk-ly-thuong-kiet"  # Hoàn Kiếm, 105.8468 21.0246
TRANG_TIEN = "hk-trang-tien"  # Hoàn Kiếm, 105.8545 21.0247
OLD_QUARTER = [105.84, 21.02, 105.86, 21.03]


def _start_api(env: dict[str, str], log: Path) -> Server:
    port = free_port()
    full = {**os.environ, **env, "IOC_PORT": str(port)}
    with log.open("ab") as handle:
        process = subprocess.Popen([sys.executable, "-m", "ioc", "api"], cwd=PROJECT, env=full,
                                   stdout=handle, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ioc api exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/api/health", timeout=1.0).status_code == 200:
                return Server(base, process, env)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"ioc api did not answer: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def prefix(servers: tuple[str, str]) -> Iterator[str]:
    """The Redis prefix every API process of this module shares."""
    name = f"ioc-test-live-{uuid.uuid4().hex[:10]}"
    yield name
    delete_keys(servers[1], name)


@pytest.fixture(scope="module")
def api_factory(
    database_url: str, servers: tuple[str, str], prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., Server]]:
    """Start `ioc api` processes (stopped at the end of the module) with live settings."""
    started: list[Server] = []

    def start(**live: str) -> Server:
        env = {"IOC_DATABASE__URL": database_url, "IOC_REDIS__URL": servers[1],
               "IOC_REDIS__PREFIX": prefix, "IOC_AUTH__SECRET": TEST_AUTH_SECRET,
               "IOC_LIVE__AGGREGATE_INTERVAL_S": "0.2",
               **{f"IOC_LIVE__{k.upper()}": v for k, v in live.items()}}
        server = _start_api(env, tmp_path_factory.mktemp("api") / "ioc.log")
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            stop(server)


@pytest.fixture(scope="module")
def api(api_factory: Callable[..., Server]) -> Server:
    """An API process whose clients coalesce after 32 queued frames and are never dropped."""
    return api_factory(queue_frames="32", slow_client_s="600", heartbeat_s="1")


@pytest.fixture
async def bus(redis_url: str, prefix: str) -> AsyncIterator[RedisBus]:
    """The bus the writer would publish on, retaining 200 deltas per stream."""
    redis = Redis.from_url(redis_url)
    yield RedisBus(redis, prefix, live_retention=200)
    await redis.aclose()


async def _connect(server: Server, query: str = "", **options: Any) -> ClientConnection:
    return await websockets.connect(server.ws_url + query, max_size=2**24, **options)


async def _next(ws: ClientConnection, kind: str | None = None,
                where: Callable[[dict[str, Any]], bool] = lambda m: True) -> dict[str, Any]:
    """The next frame of `kind` satisfying `where` (frames before it are skipped)."""
    async with asyncio.timeout(GUARD):
        while True:
            message: dict[str, Any] = orjson.loads(await ws.recv())
            if (kind is None or message["type"] == kind) and where(message):
                return message


async def _subscribe(ws: ClientConnection, sub: str, **fields: Any) -> dict[str, Any]:
    await ws.send(orjson.dumps({"type": "subscribe", "id": sub, **fields}).decode())
    return await _next(ws, where=lambda m: m.get("sub") == sub
                       and m["type"] in {"subscribed", "error"})


def _site(site_id: str, occupied: int, **extra: Any) -> dict[str, Any]:
    return {"id": site_id, "district": "002", "capacity": 100, "occupied": occupied,
            "status": "spacesAvailable", **extra}


async def _stats(server: Server) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{server.base_url}/api/live/stats", headers=bearer("viewer"))
    body: dict[str, Any] = response.json()
    return body


async def _metrics(server: Server) -> Samples:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{server.base_url}/metrics", headers=bearer("admin"))
    return samples(response.text)


async def _until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(GUARD):
        while not predicate():
            await asyncio.sleep(0.05)


# ---- connection, default subscription, heartbeats, errors ----

async def test_the_socket_needs_a_signed_in_viewer(api: Server) -> None:
    bare = api.ws_url.split("?")[0]
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(bare)
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(f"{bare}?token=forged")
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(f"{bare}?token={access_token('viewer')[:-4]}")


async def test_hello_then_a_snapshot_of_every_stream_then_deltas(
    api: Server, bus: RedisBus
) -> None:
    ws = await _connect(api)
    hello = await _next(ws)
    assert hello["type"] == "hello" and hello["protocol"] == 2
    assert hello["streams"] == ["districts", "parking", "signals", "queues", "brt", "situations"]
    assert hello["limits"]["queue_frames"] == 32
    snapshots = {}
    for _ in hello["streams"]:
        message = await _next(ws, where=lambda m: m["type"] != "subscribed")
        assert message["type"] == "snapshot" and message["sub"] == "default"
        snapshots[message["stream"]] = message
    assert len(snapshots["districts"]["districts"]) == 30
    seq = await bus.publish_live("parking", orjson.dumps({"sites": [_site(LY_THUONG_KIET, 7)]}))
    delta = await _next(ws, "delta")
    assert delta == {"type": "delta", "sub": "default", "stream": "parking", "seq": seq,
                     "sites": [_site(LY_THUONG_KIET, 7)]}
    assert seq > snapshots["parking"]["seq"]
    await ws.close()


async def test_an_idle_client_gets_heartbeats_with_the_current_seqs(
    api: Server, bus: RedisBus
) -> None:
    seq = await bus.publish_live("brt", orjson.dumps({"vehicles": []}))
    ws = await _connect(api, "&subscribe=none")
    beat = await _next(ws, "heartbeat", lambda m: m["seqs"]["brt"] >= seq)
    assert beat["server_time"]
    await ws.close()


async def test_malformed_and_unknown_messages_get_errors_and_the_connection_lives_on(
    api: Server,
) -> None:
    ws = await _connect(api, "&subscribe=none")
    await _next(ws, "hello")
    bad = [
        ("this is not json", "bad_json"),
        ("[1, 2]", "bad_message"),
        ('{"no": "type"}', "bad_message"),
        ('{"type": "launch_missiles"}', "unknown_type"),
        ('{"type": "subscribe"}', "bad_message"),
        ('{"type": "subscribe", "id": "a", "streams": ["weather"]}', "unknown_stream"),
        ('{"type": "subscribe", "id": "a", "bbox": [106, 21, 105, 22]}', "bad_filter"),
        ('{"type": "subscribe", "id": "a", "bbox": [105, 21, 106, 22], "zoom": "far"}',
         "bad_filter"),
        ('{"type": "subscribe", "id": "a", "layer": "wards", "areas": ["x"]}', "bad_filter"),
        ('{"type": "subscribe", "id": "a", "resume": {"parking": -1}}', "bad_message"),
        ('{"type": "unsubscribe", "id": "never"}', "unknown_subscription"),
        ('{"type": "resume", "id": "never", "seqs": {}}', "unknown_subscription"),
        (orjson.dumps({"type": "ping", "pad": "x" * 70_000}).decode(), "too_large"),
    ]
    for text, _ in bad:
        await ws.send(text)
    await ws.send(b'{"type": "ping", "nonce": 7}')
    errors = []
    while True:
        message = await _next(ws)
        if message["type"] == "pong":
            break
        assert message["type"] == "error" and message["reason"]
        errors.append(message["code"])
    assert errors == [code for _, code in bad]
    assert message["nonce"] == 7
    subscribed = await _subscribe(ws, "ok", streams=["brt"])
    assert subscribed["type"] == "subscribed"
    await ws.close()


# ---- every subscription kind ----

async def test_a_feed_subscription_gets_only_its_streams(api: Server, bus: RedisBus) -> None:
    ws = await _connect(api, "&subscribe=none")
    await _subscribe(ws, "buses", streams=["brt"])
    snapshot = await _next(ws, "snapshot")
    assert snapshot["stream"] == "brt"
    await bus.publish_live("parking", orjson.dumps({"sites": [_site(TRANG_TIEN, 1)]}))
    seq = await bus.publish_live("brt", orjson.dumps(
        {"vehicles": [{"id": "bus-9", "lon": 105.8, "lat": 21.0, "district": "006"}]}))
    delta = await _next(ws, "delta")
    assert (delta["stream"], delta["seq"]) == ("brt", seq)
    await ws.close()


async def test_a_district_subscription_gets_that_districts_objects_and_figures(
    api: Server, bus: RedisBus
) -> None:
    ws = await _connect(api, "&subscribe=none")
    await _subscribe(ws, "hk", streams=["signals"], districts=["002"])
    await _next(ws, "snapshot")
    body = {"districts": [{"code": "001", "signals": {"signals": 3}},
                          {"code": "002", "signals": {"signals": 5}}],
            "units": [{"id": "sig-a", "district": "001", "state": "flash"},
                      {"id": "sig-b", "district": "002", "state": "normal"}]}
    seq = await bus.publish_live("signals", orjson.dumps(body))
    delta = await _next(ws, "delta")
    assert delta == {"type": "delta", "sub": "hk", "stream": "signals", "seq": seq,
                     "districts": [{"code": "002", "signals": {"signals": 5}}],
                     "units": [{"id": "sig-b", "district": "002", "state": "normal"}]}
    await ws.close()


async def test_a_high_zoom_box_gets_the_points_inside_it_placed_by_the_catalogue(
    api: Server, bus: RedisBus
) -> None:
    ws = await _connect(api, "&subscribe=none")
    subscribed = await _subscribe(ws, "map", streams=["parking"], bbox=[105.845, 21.02,
                                                                          105.85, 21.03], zoom=16)
    assert subscribed["filter"]["level"] == "points"
    await _next(ws, "snapshot")
    seq = await bus.publish_live("parking", orjson.dumps(
        {"sites": [_site(LY_THUONG_KIET, 11), _site(TRANG_TIEN, 12)]}))
    delta = await _next(ws, "delta")
    assert delta["seq"] == seq and delta["sites"] == [_site(LY_THUONG_KIET, 11)]
    await ws.close()


async def test_areas_of_a_layer_select_objects_by_their_position(
    api: Server, bus: RedisBus
) -> None:
    ws = await _connect(api, "&subscribe=none")
    await _subscribe(ws, "cg", streams=["brt"], layer="districts", areas=["005"])
    await _next(ws, "snapshot")
    # The bodies say nothing of district 005: the position decides.
    inside = {"id": "bus-1", "lon": 105.795, "lat": 21.03, "district": None}
    outside = {"id": "bus-2", "lon": 105.85, "lat": 21.02, "district": None}
    seq = await bus.publish_live("brt", orjson.dumps({"vehicles": [inside, outside]}))
    delta = await _next(ws, "delta")
    assert delta["seq"] == seq and delta["vehicles"] == [inside]
    await ws.close()


async def test_a_situation_subscription_filters_by_severity_and_keeps_the_change(
    api: Server, bus: RedisBus
) -> None:
    ws = await _connect(api, "&subscribe=none")
    await _subscribe(ws, "alerts", streams=["situations"], severities=["major", "critical"])
    await _next(ws, "snapshot")

    def situation(sid: int, severity: str) -> dict[str, Any]:
        return {"id": sid, "district": "002", "lon": 105.85, "lat": 21.03,
                "severity": severity, "status": "open"}

    await bus.publish_live("situations", orjson.dumps(
        {"change": "opened", "situation": situation(1, "minor")}))
    seq = await bus.publish_live("situations", orjson.dumps(
        {"change": "escalated", "situation": situation(2, "critical")}))
    delta = await _next(ws, "delta")
    assert delta == {"type": "delta", "sub": "alerts", "stream": "situations", "seq": seq,
                     "change": "escalated", "situation": situation(2, "critical")}
    await ws.close()


async def test_low_zoom_boxes_get_district_aggregates_then_grid_clusters(
    api: Server, bus: RedisBus
) -> None:
    far = await _connect(api, "&subscribe=none")
    mid = await _connect(api, "&subscribe=none")
    city = [105.2, 20.5, 106.1, 21.4]
    assert (await _subscribe(far, "wall", streams=["parking"], bbox=city, zoom=10)
            )["filter"]["level"] == "districts"
    assert (await _subscribe(mid, "map", streams=["parking"], bbox=OLD_QUARTER, zoom=13)
            )["filter"]["level"] == "grid"
    for ws in (far, mid):
        snapshot = await _next(ws, "snapshot")
        assert snapshot["sites"] == [] and snapshot["level"] in {"districts", "grid"}
        await _next(ws, "aggregate")
    seq = await bus.publish_live("parking", orjson.dumps(
        {"sites": [_site(LY_THUONG_KIET, 40), _site(TRANG_TIEN, 60)]}))
    wall = await _next(far, "aggregate", lambda m: m["seq"] >= seq)
    hk = next(c for c in wall["cells"] if c["key"] == "002")
    assert hk["count"] >= 2 and hk["sums"]["capacity"] >= 200
    assert (hk["lon"], hk["lat"]) == (105.8421, 21.0239)
    clusters = await _next(mid, "aggregate", lambda m: m["seq"] >= seq)
    assert clusters["level"] == "grid"
    assert sum(c["count"] for c in clusters["cells"]) >= 2
    assert all(OLD_QUARTER[0] <= c["lon"] <= OLD_QUARTER[2] for c in clusters["cells"])
    for ws in (far, mid):
        await ws.close()


# ---- resume ----

async def test_resume_after_a_forced_disconnect_has_no_gap_and_no_duplicate(
    api: Server, bus: RedisBus
) -> None:
    ws = await _connect(api, "&subscribe=none")
    await _subscribe(ws, "p", streams=["parking"])
    await _next(ws, "snapshot")
    seen = []
    for i in range(5):
        await bus.publish_live("parking", orjson.dumps({"sites": [_site(TRANG_TIEN, i)]}))
        seen.append((await _next(ws, "delta"))["seq"])
    ws.transport.abort()  # the network drops: no closing handshake
    missed = [await bus.publish_live("parking", orjson.dumps({"sites": [_site(TRANG_TIEN, i)]}))
              for i in range(5, 12)]
    again = await _connect(api, "&subscribe=none")
    await _subscribe(again, "p", streams=["parking"], resume={"parking": seen[-1]})
    after = [await bus.publish_live("parking", orjson.dumps({"sites": [_site(TRANG_TIEN, i)]}))
             for i in range(12, 15)]
    while not seen or seen[-1] < after[-1]:
        message = await _next(again)
        assert message["type"] == "delta", message
        seen.append(message["seq"])
    assert seen == list(range(seen[0], after[-1] + 1))
    assert missed[0] == seen[5]
    await again.close()


async def test_resume_past_the_retained_window_gets_a_fresh_snapshot(
    api: Server, bus: RedisBus
) -> None:
    first = await bus.publish_live("queues", orjson.dumps({"districts": [], "points": []}))
    for i in range(400):  # twice what the bus retains
        await bus.publish_live("queues", orjson.dumps(
            {"districts": [], "points": [{"id": "mc-002-hoan-kiem", "waiting": i}]}))
    last = await bus.current_seq("queues")
    ws = await _connect(api, "&subscribe=none")
    await _subscribe(ws, "q", streams=["queues"], resume={"queues": first})
    snapshot = await _next(ws)
    assert snapshot["type"] == "snapshot" and snapshot["reason"] == "resume_window_passed"
    assert snapshot["seq"] == last
    assert {"id": "mc-002-hoan-kiem", "waiting": 399} in snapshot["points"]
    await ws.close()


# ---- slow clients ----

async def test_a_slow_client_gets_latest_values_while_a_fast_one_gets_every_delta(
    api: Server, bus: RedisBus
) -> None:
    fast = await _connect(api, "&subscribe=none")
    slow = await _connect(api, "&subscribe=none", max_queue=1)
    try:
        # The slow client follows Hoàn Kiếm, whose car park carries a large (incompressible)
        # note that fills its socket buffers; the fast one follows a small car park elsewhere.
        await _subscribe(fast, "p", streams=["parking"], districts=["001"])
        await _subscribe(slow, "p", streams=["parking"], districts=["002"])
        for ws in (fast, slow):
            await _next(ws, "snapshot")
        fast_seen: list[dict[str, Any]] = []

        async def read_fast() -> None:
            while True:
                fast_seen.append(await _next(fast, "delta"))

        def body(i: int, note: str | None = None) -> bytes:
            big = _site(LY_THUONG_KIET, i, **({"note": note} if note else {}))
            return orjson.dumps({"sites": [big, _site(TRANG_TIEN, i),
                                           {**_site("bd-small", i), "district": "001"}]})

        reader = asyncio.create_task(read_fast())
        published: list[int] = []
        while len(published) < 50 or (await _stats(api))["clients_behind"] == 0:
            for _ in range(10):
                published.append(await bus.publish_live(
                    "parking", body(len(published), secrets.token_hex(25_000))))
            await asyncio.sleep(0.02)
            assert len(published) < 2000, "the stalled client never fell behind"
        final = await bus.publish_live("parking", body(999))
        await _until(lambda: bool(fast_seen) and fast_seen[-1]["seq"] == final)
        # The fast client had every delta, in order, while the slow one was still stalled.
        assert [m["seq"] for m in fast_seen] == [*published, final]
        assert not any(m.get("coalesced") for m in fast_seen)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        slow_seen: list[dict[str, Any]] = []
        while not slow_seen or slow_seen[-1]["seq"] < final:
            slow_seen.append(await _next(slow, "delta"))
        seqs = [m["seq"] for m in slow_seen]
        assert seqs == sorted(set(seqs)) and len(seqs) < len(published) + 1
        merged = [m for m in slow_seen if m.get("coalesced")]
        assert merged, "the backlog was not coalesced"
        assert merged[-1]["sites"] == [_site(LY_THUONG_KIET, 999), _site(TRANG_TIEN, 999)]
        assert merged[-1]["from_seq"] <= merged[-1]["seq"] == final
        assert (value(await _metrics(api), "ioc_live_coalesced_frames_total") or 0) >= len(merged)
    finally:
        for ws in (fast, slow):
            ws.transport.abort()


async def test_a_client_still_too_slow_is_disconnected_with_a_reason(
    api_factory: Callable[..., Server], bus: RedisBus
) -> None:
    strict = api_factory(queue_frames="32", slow_client_s="1")
    fast = await _connect(strict, "&subscribe=none")
    slow = await _connect(strict, "&subscribe=none", max_queue=1)
    try:
        # Both follow car parks; the fast one only those of Ba Đình, which are small here.
        await _subscribe(fast, "p", streams=["parking"], districts=["001"])
        await _subscribe(slow, "p", streams=["parking"])
        for ws in (fast, slow):
            await _next(ws, "snapshot")
        fast_seqs: list[int] = []

        async def read_fast() -> None:
            while True:
                fast_seqs.append((await _next(fast, "delta"))["seq"])

        reader = asyncio.create_task(read_fast())
        published: list[int] = []
        while (await _stats(strict))["slow_disconnects"] == 0:
            for _ in range(10):
                big = _site(TRANG_TIEN, len(published), note=secrets.token_hex(25_000))
                small = {**_site("bd-small", len(published)), "district": "001"}
                published.append(await bus.publish_live(
                    "parking", orjson.dumps({"sites": [big, small]})))
            await asyncio.sleep(0.1)
            assert len(published) < 5000, "the stalled client was never disconnected"
        await _until(lambda: bool(fast_seqs) and fast_seqs[-1] == published[-1])
        assert fast_seqs == published
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await _next(slow)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4008
        assert "too slow" in closed.value.rcvd.reason
        assert (await _stats(strict))["clients"] == 1
        metrics = await _metrics(strict)
        assert value(metrics, "ioc_live_slow_disconnects_total") == 1
        assert value(metrics, "ioc_live_clients") == 1
        assert (value(metrics, "ioc_live_frames_total") or 0) >= len(fast_seqs)
    finally:
        for ws in (fast, slow):
            ws.transport.abort()


# ---- scale-out ----

async def test_two_api_processes_serve_the_same_sequence(
    api: Server, api_factory: Callable[..., Server], bus: RedisBus
) -> None:
    other = api_factory()
    clients = [await _connect(api), await _connect(other)]
    for ws in clients:
        await _next(ws, "hello")
        for _ in range(6):
            await _next(ws, "snapshot")
    sent = []
    for i in range(30):
        stream = ("parking", "brt", "signals")[i % 3]
        body = {"parking": {"sites": [_site(TRANG_TIEN, i)]},
                "brt": {"vehicles": [{"id": "bus-7", "lon": 105.8, "lat": 21.0 + i / 1000}]},
                "signals": {"districts": [], "units": [{"id": "sig-x", "state": "normal"}]},
                }[stream]
        sent.append((stream, await bus.publish_live(stream, orjson.dumps(body))))
    received: list[list[tuple[str, int, str]]] = [[], []]
    for ws, out in zip(clients, received, strict=True):
        while len(out) < len(sent):
            m = await _next(ws, "delta")
            out.append((m["stream"], m["seq"], orjson.dumps(m).decode()))
    assert received[0] == received[1]
    assert [(s, q) for s, q, _ in received[0]] == sent
    for ws in clients:
        await ws.close()
