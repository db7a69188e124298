"""The `ioc` command as an operator runs it."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import orjson
import psycopg
from redis.asyncio import Redis

from geo import load_pack
from ioc.bus import RedisBus
from ioc.logs import JsonFormatter, TextFormatter
from ioc.supervise import TaskState
from tests.conftest import delete_keys, empty_tables, shared_file
from tests.ioc.server import PROJECT, Server, free_port, running


def test_db_upgrade_migrates_and_says_so_then_has_nothing_new(
    database_url: str,
) -> None:
    env = {**os.environ, "IOC_DATABASE__URL": database_url,
           "IOC_REDIS__URL": "redis://127.0.0.1:1/0"}  # unused by `db`: must not be touched

    def upgrade() -> str:
        done = subprocess.run([sys.executable, "-m", "ioc", "db", "upgrade"], cwd=PROJECT,
                              env=env, capture_output=True, text=True, timeout=60, check=True)
        return done.stdout

    first = upgrade()
    with psycopg.connect(database_url) as conn:
        extension = conn.execute(
            "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()}
    mode = "timescaledb" if extension else "postgresql"
    assert first.startswith(f"mode: {mode};")
    assert {"parking_occupancy", "parking_latest", "dead_letter", "schema_migrations"} <= tables
    assert upgrade().strip() == f"mode: {mode}; applied: nothing new"


def test_layer_import_adds_the_2025_wards_beside_the_districts(tmp_path: Path) -> None:
    wards = shared_file("hanoi/wards-2025-osm.geojson")
    pack = tmp_path / "hanoi"
    shutil.copytree(PROJECT / "packs" / "hanoi", pack)
    env = {**os.environ, "IOC_CITY_PACK": str(pack)}
    done = subprocess.run(
        [sys.executable, "-m", "ioc", "layer", "import", str(wards), "--name", "wards-2025",
         "--code-field", "@name", "--name-field", "name", "--name-en-field", "name:en",
         "--valid-from", "2025-07-01"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.startswith("wards-2025: 126 units written to ")
    loaded = load_pack(pack)
    assert loaded.layer_names == ["districts", "wards-2025"]
    assert len(loaded.layer("wards-2025").units) == 126
    assert str(loaded.layer("wards-2025").valid_from) == "2025-07-01"


def test_a_layer_imported_while_the_service_runs_is_served_after_a_reload(
    tmp_path: Path, database_url: str, servers: tuple[str, str]
) -> None:
    wards = shared_file("hanoi/wards-2025-osm.geojson")
    pack = tmp_path / "hanoi"
    shutil.copytree(PROJECT / "packs" / "hanoi", pack)
    env = {"IOC_CITY_PACK": str(pack), "IOC_DATABASE__URL": database_url,
           "IOC_REDIS__URL": servers[1], "IOC_REDIS__PREFIX": f"ioc-test-layer-{os.getpid()}",
           "IOC_FEEDS": '["parking"]'}
    with running(env, tmp_path / "ioc.log") as server:
        assert server.get("/api/layers/wards-2025").status_code == 404
        subprocess.run(
            [sys.executable, "-m", "ioc", "layer", "import", str(wards), "--name",
             "wards-2025", "--code-field", "@name", "--name-field", "name"],
            cwd=PROJECT, env={**os.environ, **env}, capture_output=True, timeout=120, check=True)
        reloaded = server.post("/api/layers/wards-2025/reload", role="admin").json()
        assert reloaded == {"layer": "wards-2025", "units": 126}
        names = [layer["name"] for layer in server.get("/api/layers").json()]
        assert names == ["districts", "wards-2025"]
        served = server.get("/api/layers/wards-2025", params={"zoom": 9})
        assert len(served.json()["features"]) == 126
    empty_tables(database_url)
    delete_keys(servers[1], env["IOC_REDIS__PREFIX"])


# ---- ioc health ----

def _health(role: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ioc", "health", "--role", role], cwd=PROJECT,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=60)


def test_health_passes_for_each_role_of_a_running_service(server: Server) -> None:
    for role in ("api", "writer", "feeds"):
        done = _health(role, server.env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith(f"{role}: ok")
        assert len(done.stdout.splitlines()) == 1


def test_health_fails_with_a_reason_when_nothing_runs(redis_url: str, redis_prefix: str) -> None:
    nothing = {"IOC_PORT": str(free_port()), "IOC_REDIS__URL": redis_url,
               "IOC_REDIS__PREFIX": redis_prefix}
    api = _health("api", nothing)
    assert api.returncode == 1
    assert api.stdout.startswith(f"api: no answer from http://127.0.0.1:{nothing['IOC_PORT']}/")
    for role in ("writer", "feeds"):
        done = _health(role, nothing)
        assert done.returncode == 1
        assert done.stdout == (f"{role}: no live process on {socket.gethostname()} reports "
                               f"{role} tasks\n")
    gone = {**nothing, "IOC_REDIS__URL": f"redis://127.0.0.1:{free_port()}/0"}
    unreachable = _health("writer", gone)
    assert unreachable.returncode == 1
    assert unreachable.stdout.startswith("writer: Redis unreachable: ")


async def test_health_fails_while_a_task_of_the_process_restarts(
    redis_url: str, redis_prefix: str
) -> None:
    redis = Redis.from_url(redis_url)
    process = f"worker-{socket.gethostname()}-4242"
    try:
        await RedisBus(redis, redis_prefix).report_tasks(process, [
            TaskState("writer", "running"),
            TaskState("situations", "restarting", 3, "OperationalError: the database is gone"),
        ], ttl_s=60)
    finally:
        await redis.aclose()
    done = _health("writer", {"IOC_REDIS__URL": redis_url, "IOC_REDIS__PREFIX": redis_prefix})
    assert done.returncode == 1
    assert done.stdout == (f"writer: {process}: task situations is restarting after 3 restarts "
                           "(OperationalError: the database is gone)\n")


# ---- logs ----

def test_logs_are_json_lines_when_asked(servers: tuple[str, str], tmp_path: Path) -> None:
    admin, redis_url = servers
    name = f"ioc_test_logs_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {"IOC_LOG_FORMAT": "json", "IOC_FEEDS": '["parking"]',
           "IOC_DATABASE__URL": psycopg.conninfo.make_conninfo(admin, dbname=name),
           "IOC_REDIS__URL": redis_url, "IOC_REDIS__PREFIX": f"ioc-test-logs-{os.getpid()}"}
    try:
        with running(env, tmp_path / "ioc.log") as server:
            assert server.get("/api/health").status_code == 200
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        delete_keys(redis_url, env["IOC_REDIS__PREFIX"])
    # Every line, the web server's included, is one JSON object.
    lines = [orjson.loads(line) for line in (tmp_path / "ioc.log").read_text().splitlines()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert all(datetime.fromisoformat(line["time"]).tzinfo is not None for line in lines)
    by_logger = {line["logger"]: line for line in lines}
    assert by_logger["ioc.storage.migrate"]["message"].startswith("applied migrations")
    assert by_logger["ioc.storage.migrate"]["level"] == "INFO"
    assert "GET /api/health" in by_logger["uvicorn.access"]["message"]


def test_a_log_calls_context_is_kept_in_both_formats() -> None:
    record = logging.LogRecord("feeds.runner", logging.WARNING, __file__, 1,
                               "asset %s refused", ("sig-1",), None)
    for key, context in {"feed": "signals", "asset": "sig-1", "district": "002"}.items():
        setattr(record, key, context)
    line = orjson.loads(JsonFormatter().format(record))
    assert {k: line[k] for k in ("level", "logger", "message", "feed", "asset", "district")} == {
        "level": "WARNING", "logger": "feeds.runner", "message": "asset sig-1 refused",
        "feed": "signals", "asset": "sig-1", "district": "002"}
    assert TextFormatter().format(record).endswith(
        "WARNING feeds.runner asset sig-1 refused feed=signals asset=sig-1 district=002")
