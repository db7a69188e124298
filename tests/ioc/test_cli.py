"""The `ioc` command as an operator runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

from geo import load_pack
from tests.conftest import delete_keys, empty_tables, shared_file
from tests.ioc.server import PROJECT, running


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
