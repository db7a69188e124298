"""Live fan-out benchmark: thousands of WebSocket clients on one `ioc api` process.

A publisher drives `RedisBus.publish_live` at a whole-city rate (car parks spread over the
city, several thousand observations a second, in deltas as the writer batches them). Clients
run in worker processes (bare asyncio WebSocket clients, hundreds per process, cheap enough
that their own CPU weighs little) with mixed subscriptions: a district, a street-level box,
the city at low zoom (aggregates), the whole city's points. Each observation carries its
publish time; a client's latency is the time from publish to receipt of a delta frame. Three
runs per client count:

- `ioc`: every client reads as fast as it can;
- `ioc+slow`: 5 % of the clients are slow, with a small receive buffer: half read 2 kB
  every 0.2 s (they fall behind and are coalesced), half stop reading once connected (they
  are disconnected). This run lasts `--slow-seconds`, long enough for both to happen under
  the server's default limits; the server's own counts are read from /api/live/stats;
- `baseline`: a minimal broadcast server written with the websockets library (every delta
  to every client, no filter), same publisher, same clients, no slow ones.

Latency figures are those of the fast clients. Memory per client is the server's RSS growth
once every client is connected and subscribed, divided by the clients. The machine's load
average is recorded with each run (the machine may be shared). Results go to
bench/results/live.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import multiprocessing as mp
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import orjson
import psutil
import psycopg
import websockets
from redis.asyncio import Redis

from bench.ingest import _machine, _servers
from geo import AreaIndex, load_pack
from ioc.auth.roles import Principal, Role
from ioc.auth.tokens import issue
from ioc.bus import RedisBus, parse_live
from ioc.settings import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results"
PACK = PROJECT_ROOT / "packs" / "hanoi"
SECRET = "bench-only-token-signing-secret-0123456789"
CORE = (105.78, 20.97, 105.90, 21.07)  # the urban districts, where the car parks are
SITES = 2_500
SLOW_SHARE = 0.05
SLOW_READ_S = 0.2  # a slow client reads one chunk this often
SLOW_CHUNK = 2048  # bytes it reads at a time (10 kB/s)
SLOW_RCVBUF = 4096  # its socket's receive buffer (the kernel doubles it)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sites() -> list[dict[str, Any]]:
    rng = random.Random(7)
    lons = [rng.uniform(CORE[0], CORE[2]) for _ in range(SITES)]
    lats = [rng.uniform(CORE[1], CORE[3]) for _ in range(SITES)]
    pack = load_pack(PACK)
    districts = AreaIndex(pack.layer(pack.default_layer)).assign(lons, lats)
    return [{"id": f"bench-{i}", "district": d, "lon": round(x, 5), "lat": round(y, 5),
             "capacity": 200} for i, (x, y, d) in enumerate(zip(lons, lats, districts,
                                                                 strict=True))]


def _subscription(rng: random.Random, districts: list[str]) -> dict[str, Any]:
    """The mix: 45 % a district, 35 % a street-level box, 15 % the city at low zoom,
    5 % every car park of the city."""
    draw = rng.random()
    if draw < 0.45:
        return {"streams": ["parking"], "districts": [rng.choice(districts)]}
    if draw < 0.80:
        lon, lat = rng.uniform(CORE[0], CORE[2] - 0.01), rng.uniform(CORE[1], CORE[3] - 0.01)
        return {"streams": ["parking"], "bbox": [lon, lat, lon + 0.01, lat + 0.01], "zoom": 15}
    if draw < 0.95:
        return {"streams": ["parking"], "bbox": [105.3, 20.6, 106.0, 21.3], "zoom": 10}
    return {"streams": ["parking"]}


# ---- client workers (separate processes) ----

class _Counts:
    """What one worker's clients saw."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.frames = 0
        self.slow_frames = 0
        self.coalesced = 0
        self.closed_too_slow = 0
        self.recording = False


class _Client(asyncio.BufferedProtocol):
    """A bare WebSocket client: the handshake, then unmasked server frames parsed in place.

    Far cheaper than a full client library, so that a few worker processes can read what
    thousands of connections receive without the clients' own CPU deciding the figures.
    `kind` is `fast` (reads everything), `slow` (reads at most `SLOW_CHUNK` bytes every
    `SLOW_READ_S`) or `stalled` (stops reading once connected).
    """

    def __init__(self, request: bytes, kind: str, counts: _Counts, opened: asyncio.Future[None],
                 closed: asyncio.Future[None]) -> None:
        self.request = request
        self.kind = kind
        self.counts = counts
        self.opened = opened
        self.closed = closed
        self.chunk = bytearray(SLOW_CHUNK if kind == "slow" else 1 << 16)
        self.pending = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def get_buffer(self, sizehint: int) -> bytearray:
        return self.chunk

    def buffer_updated(self, nbytes: int) -> None:
        self.pending += self.chunk[:nbytes]
        if not self.opened.done():
            end = self.pending.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.pending.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(RuntimeError(bytes(self.pending[:200]).decode()))
                return
            del self.pending[:end + 4]
            self.opened.set_result(None)
        self._frames()
        assert self.transport is not None
        if self.kind == "slow":
            self.transport.pause_reading()
            asyncio.get_running_loop().call_later(SLOW_READ_S, self._resume)
        elif self.kind == "stalled":
            self.transport.pause_reading()

    def _resume(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def _frames(self) -> None:
        buf = self.pending
        at = 0
        while len(buf) - at >= 2:
            opcode, size = buf[at] & 0x0F, buf[at + 1] & 0x7F
            head = 2
            if size == 126:
                if len(buf) - at < 4:
                    break
                size, head = int.from_bytes(buf[at + 2:at + 4], "big"), 4
            elif size == 127:
                if len(buf) - at < 10:
                    break
                size, head = int.from_bytes(buf[at + 2:at + 10], "big"), 10
            if len(buf) - at < head + size:
                break
            self._frame(opcode, bytes(buf[at + head:at + head + size]))
            at += head + size
        del buf[:at]

    def _frame(self, opcode: int, payload: bytes) -> None:
        counts = self.counts
        if opcode == 0x9:  # ping: answer, or the server closes the connection
            self.send(0xA, payload)
            return
        if opcode == 0x8:
            if int.from_bytes(payload[:2], "big") == 4008:
                counts.closed_too_slow += 1
            return
        if self.kind != "fast":
            counts.slow_frames += 1
            if b'"coalesced":true' in payload[:200]:
                counts.coalesced += 1
            return
        counts.frames += 1
        if not counts.recording:
            return
        # The publish time of the frame's first observation, deltas only.
        at = payload.find(b'"t":')
        if at < 0 or payload.startswith(b'{"type":"snapshot"'):
            return
        if b'"coalesced":true' in payload[:200]:
            counts.coalesced += 1
        counts.latencies.append(time.time() - float(payload[at + 4:payload.index(b"}", at)]))

    def send(self, opcode: int, payload: bytes) -> None:
        """Write one masked frame (clients must mask)."""
        assert self.transport is not None and len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)


def _worker(url: str, count: int, slow: int, seed: int, districts: list[str],
            baseline: bool, ready: Any, go: Any, stop: Any, out: Any) -> None:
    asyncio.run(_clients(url, count, slow, seed, districts, baseline, ready, go, stop, out))


async def _clients(url: str, count: int, slow: int, seed: int, districts: list[str],
                   baseline: bool, ready: Any, go: Any, stop: Any, out: Any) -> None:
    rng = random.Random(seed)
    counts = _Counts()
    gate = asyncio.Semaphore(50)
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    closes: list[asyncio.Future[None]] = []
    protocols: list[_Client] = []

    async def one(index: int) -> None:
        # Half the slow clients read slowly (they are coalesced), half stop reading (they
        # are disconnected); both with a small receive buffer, as on a poor network.
        kind = "fast" if index >= slow else ("slow" if index % 2 == 0 else "stalled")
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        async with gate:
            sock = socket.socket()
            if kind != "fast":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_RCVBUF)
            sock.setblocking(False)
            await loop.sock_connect(sock, (host, port))
            opened, closed = loop.create_future(), loop.create_future()
            _, client = await loop.create_connection(
                lambda: _Client(request, kind, counts, opened, closed), sock=sock)
            await asyncio.wait_for(opened, 120)
            if not baseline:
                subscribe = orjson.dumps({"type": "subscribe", "id": "s",
                                          **_subscription(rng, districts)})
                assert client.transport is not None
                mask = os.urandom(4)
                size = len(subscribe)
                length = bytes([0x80 | size]) if size < 126 else (
                    bytes([0x80 | 126]) + size.to_bytes(2, "big"))
                client.transport.write(b"\x81" + length + mask + bytes(
                    b ^ mask[i % 4] for i, b in enumerate(subscribe)))
        closes.append(closed)
        protocols.append(client)

    await asyncio.gather(*(one(i) for i in range(count)))
    ready.release()
    while not go.is_set():
        await asyncio.sleep(0.05)
    counts.recording = True
    while not stop.is_set():
        await asyncio.sleep(0.05)
    counts.recording = False
    out.put((counts.latencies, {"frames": counts.frames, "slow_frames": counts.slow_frames,
                                "closed_too_slow": counts.closed_too_slow,
                                "coalesced": counts.coalesced}))
    for client in protocols:
        if client.transport is not None:
            client.transport.abort()


# ---- the baseline: a minimal broadcast with the websockets library ----

def _baseline_server(port: int, redis_url: str, prefix: str) -> None:
    async def main() -> None:
        clients: set[Any] = set()

        async def handler(ws: Any) -> None:
            clients.add(ws)
            try:
                await ws.wait_closed()
            finally:
                clients.discard(ws)

        redis = Redis.from_url(redis_url)
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(f"{prefix}:live")
        async with websockets.serve(handler, "127.0.0.1", port, compression=None,
                                    ping_interval=None, max_queue=64):
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    live = parse_live(message["data"])
                    frame = (b'{"stream":"' + live.stream.encode() + b'","seq":'
                             + str(live.seq).encode() + b"," + live.body[1:])
                    websockets.broadcast(clients, frame.decode())

    asyncio.run(main())


# ---- the run ----

@contextlib.contextmanager
def _server(baseline: bool, db: str, redis_url: str, prefix: str) -> Iterator[
    tuple[str, psutil.Process, tuple[str, str] | None]
]:
    port = _free_port()
    if baseline:
        process = mp.get_context("spawn").Process(
            target=_baseline_server, args=(port, redis_url, prefix), daemon=True)
        process.start()
        pid = process.pid
        assert pid is not None
        url = f"ws://127.0.0.1:{port}/"
        stats = None
    else:
        env = {**os.environ, "IOC_DATABASE__URL": db, "IOC_REDIS__URL": redis_url,
               "IOC_REDIS__PREFIX": prefix, "IOC_AUTH__SECRET": SECRET,
               "IOC_PORT": str(port), "IOC_FEEDS": "[]"}
        log = subprocess.DEVNULL
        popen = subprocess.Popen([sys.executable, "-m", "ioc", "api"], cwd=PROJECT_ROOT,
                                 env=env, stdout=log, stderr=subprocess.STDOUT)
        pid = popen.pid
        token = issue(SECRET, Principal("bench", Role.VIEWER), "access", 3600)
        url = f"ws://127.0.0.1:{port}/ws/live?token={token}&subscribe=none"
        stats = (f"http://127.0.0.1:{port}/api/live/stats", token)
    deadline = time.monotonic() + 60
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.2)
    time.sleep(1.0)
    try:
        yield url, psutil.Process(pid), stats
    finally:
        if baseline:
            process.terminate()
            process.join()
        else:
            popen.send_signal(2)
            try:
                popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()


async def _publish(bus: RedisBus, sites: list[dict[str, Any]], rate: int, per_delta: int,
                   seconds: float) -> int:
    """Publish `rate` observations a second for `seconds`, in deltas of `per_delta`."""
    rng = random.Random(11)
    sent = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        now = time.time()
        batch = [{**site, "occupied": rng.randrange(200), "t": now}
                 for site in rng.sample(sites, per_delta)]
        await bus.publish_live("parking", orjson.dumps({"sites": batch}))
        sent += per_delta
        delay = start + sent / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    return sent


async def _run(clients: int, mode: str, args: argparse.Namespace, db: str, redis_url: str,
               sites: list[dict[str, Any]], districts: list[str]) -> dict[str, Any]:
    prefix = f"ioc-bench-live-{uuid.uuid4().hex[:8]}"
    baseline = mode == "baseline"
    slow_total = round(clients * SLOW_SHARE) if mode == "ioc+slow" else 0
    ctx = mp.get_context("spawn")
    # Slow clients are measured long enough to be coalesced, and those that stop reading
    # to be disconnected (the server's default IOC_LIVE__SLOW_CLIENT_S is 15 s).
    seconds = args.slow_seconds if slow_total else args.seconds
    with _server(baseline, db, redis_url, prefix) as (url, server, stats_url):
        rss_before = server.memory_info().rss
        ready, go, stop, out = ctx.Semaphore(0), ctx.Event(), ctx.Event(), ctx.Queue()
        per = [clients // args.workers + (i < clients % args.workers)
               for i in range(args.workers)]
        slow = [slow_total // args.workers + (i < slow_total % args.workers)
                for i in range(args.workers)]
        workers = [ctx.Process(target=_worker, daemon=True, args=(
            url, n, s, 100 + i, districts, baseline, ready, go, stop, out))
            for i, (n, s) in enumerate(zip(per, slow, strict=True))]
        for worker in workers:
            worker.start()
        started = time.perf_counter()
        for _ in workers:
            await asyncio.to_thread(ready.acquire)
        connect_s = time.perf_counter() - started
        await asyncio.sleep(2.0)
        rss_connected = server.memory_info().rss
        redis = Redis.from_url(redis_url)
        bus = RedisBus(redis, prefix)
        cpu_before = server.cpu_times()
        # Warm up, then measure.
        await _publish(bus, sites, args.rate, args.per_delta, 2.0)
        go.set()
        sent = await _publish(bus, sites, args.rate, args.per_delta, seconds)
        await asyncio.sleep(1.0)
        hub = await asyncio.to_thread(_hub_stats, *stats_url) if stats_url else {}
        stop.set()
        cpu_after = server.cpu_times()
        rss_peak = server.memory_info().rss
        results = [await asyncio.to_thread(out.get) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
        await redis.aclose()
    latencies = np.array([x for lat, _ in results for x in lat]) * 1000
    counts = {k: sum(c[k] for _, c in results) for k in results[0][1]}
    cpu = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    load = os.getloadavg()
    return {
        "clients": clients, "mode": mode, "slow_clients": slow_total,
        "seconds": seconds,
        "observations_per_s": round(sent / seconds),
        "deltas_per_s": round(sent / args.per_delta / seconds, 1),
        "connect_s": round(connect_s, 1),
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 1) if latencies.size else None,
        "latency_ms_p99": round(float(np.percentile(latencies, 99)), 1) if latencies.size else None,
        "delta_frames_measured": int(latencies.size),
        "frames_per_s": round(counts["frames"] / (seconds + 1.0)),
        "slow_client_frames": counts["slow_frames"],
        "coalesced_frames_received": counts["coalesced"],
        "closed_4008_received": counts["closed_too_slow"],
        "server_coalesced_frames": hub.get("coalesced"),
        "server_slow_disconnects": hub.get("slow_disconnects"),
        "server_clients_at_end": hub.get("clients"),
        "server_cpu_share": round(cpu / (seconds + 1.0), 2),
        "memory_per_client_kib": round((rss_connected - rss_before) / clients / 1024, 1),
        "server_rss_mib": round(rss_peak / 2**20),
        "load_average_1_5_15": [round(x, 2) for x in load],
    }


def _hub_stats(url: str, token: str) -> dict[str, Any]:
    """The API process's /api/live/stats."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body: dict[str, Any] = orjson.loads(response.read())
    return body


async def main(args: argparse.Namespace) -> None:
    """Run every client count and mode, and write bench/results/live.json."""
    sites = _sites()
    districts = sorted({s["district"] for s in sites if s["district"]})
    runs = []
    with _servers() as (admin, redis_url):
        name = f"ioc_bench_live_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        db = psycopg.conninfo.make_conninfo(admin, dbname=name)
        try:
            for clients in args.clients:
                for mode in args.modes:
                    result = await _run(clients, mode, args, db, redis_url, sites, districts)
                    print(orjson.dumps(result).decode(), flush=True)
                    runs.append(result)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for clients in args.clients:
        by_mode = {r["mode"]: r for r in runs if r["clients"] == clients}
        ioc, slow, base = by_mode.get("ioc"), by_mode.get("ioc+slow"), by_mode.get("baseline")
        if ioc and slow and ioc["latency_ms_p99"] and slow["latency_ms_p99"]:
            ioc["slow_clients_move_fast_p99_by"] = round(
                slow["latency_ms_p99"] / ioc["latency_ms_p99"] - 1, 3)
        if ioc and base and ioc["latency_ms_p99"] and base["latency_ms_p99"]:
            ioc["p99_ratio_to_baseline"] = round(ioc["latency_ms_p99"]
                                                 / base["latency_ms_p99"], 3)
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {"benchmark": "live", "machine": _machine(), "rate": args.rate,
              "per_delta": args.per_delta, "seconds": args.seconds, "workers": args.workers,
              "runs": runs}
    (RESULTS / "live.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))


def cli() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--modes", nargs="+", default=["ioc", "ioc+slow", "baseline"])
    parser.add_argument("--rate", type=int, default=4000, help="observations per second")
    parser.add_argument("--per-delta", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--slow-seconds", type=float, default=45.0,
                        help="measurement of the runs with slow clients")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
