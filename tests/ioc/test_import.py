"""`ioc import`: a city's own exports, read with a column mapping, stored once, bad rows refused."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from feeds.base import reason_kind
from feeds.files import replay_plan
from ioc.importer import check_gtfs, import_file
from ioc.settings import Settings
from tests.conftest import shared_file
from tests.ioc.conftest import Ingest
from tests.ioc.server import PROJECT

SIGNAL = "sig-kim-ma-giang-van-minh"


def _settings(ingest: Ingest, db: str) -> Settings:
    return Settings(database={"url": db}, redis={"url": ingest_redis_url(ingest),
                                                "prefix": ingest.bus.prefix})


def ingest_redis_url(ingest: Ingest) -> str:
    kwargs = ingest.bus.redis.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


def _signal_csv(path: Path) -> Path:
    rows = [("2026-11-23 07:00:00.1", SIGNAL, 1, 2), ("2026-11-23 07:00:02.0", SIGNAL, 82, 5),
            ("2026-11-23 07:00:03.4", SIGNAL, "x", 5), ("2026-11-23 07:00:04.0", SIGNAL, 999, 1),
            ("2026-11-23 07:00:05.0", SIGNAL, 8, 2)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Thoi gian", "Ma den", "Ma su kien", "Tham so"])
        writer.writerows(rows)
    return path


SIGNAL_MAP = {"time": "Thoi gian", "signal_id": "Ma den", "event_code": "Ma su kien",
              "parameter": "Tham so"}


async def test_a_signal_log_with_its_own_columns_imports_once_with_bad_rows_refused(
    ingest: Ingest, db: str, tmp_path: Path
) -> None:
    path = _signal_csv(tmp_path / "den.csv")
    settings = _settings(ingest, db)
    first = await import_file(settings, "signals", path, SIGNAL_MAP)
    again = await import_file(settings, "signals", path, SIGNAL_MAP)
    assert await ingest.count("signal_events") == 3
    assert first.rejected == again.rejected == 2
    assert sum(first.reasons.values()) == 2
    # The first import also judged the unit's status from its events.
    assert await ingest.count("signal_status") >= 1


async def test_a_parquet_export_of_car_parks_imports_through_a_mapping_file(
    ingest: Ingest, db: str, tmp_path: Path
) -> None:
    table = pa.table({
        "ma_bai": ["hk-ly-thuong-kiet", "hk-ly-thuong-kiet", "hk-tran-hung-dao"],
        "thoi_diem": ["2026-11-23T08:00:00+07:00"] * 3,
        "loai_xe": ["car", "motorbike", "car"],
        "suc_chua": [60, 250, 50],
        "dang_do": [42, 120, 51],
        "kinh_do": [105.8468, 105.8468, 105.8489],
        "vi_do": [21.0246, 21.0246, 21.0207],
    })
    path = tmp_path / "iparking.parquet"
    pq.write_table(table, path)
    mapping = {"id": "ma_bai", "observed_at": "thoi_diem", "vehicle_type": "loai_xe",
               "capacity": "suc_chua", "occupied": "dang_do", "lon": "kinh_do", "lat": "vi_do"}
    report = await import_file(_settings(ingest, db), "parking", path, mapping)
    assert (report.accepted, report.rejected) == (2, 1)
    assert list(report.reasons) == ["car: occupied … exceeds capacity …"]
    async with ingest.pool.connection() as conn:
        rows = await (await conn.execute(
            "SELECT vehicle_type, occupied, district FROM parking_occupancy ORDER BY 1")).fetchall()
    assert rows == [("car", 42, "002"), ("motorbike", 120, "002")]


async def test_a_gtfs_realtime_snapshot_imports_every_vehicle(ingest: Ingest, db: str) -> None:
    path = shared_file("gtfs/caltrain/vehicle-positions.pb")
    report = await import_file(_settings(ingest, db), "brt_vehicles", path, {})
    assert (report.accepted, report.rejected) == (14, 0)
    assert await ingest.count("brt_vehicle_positions") == 14


def test_a_replay_waits_source_time_divided_by_speed() -> None:
    records = [{"time": f"2026-11-23T07:00:{s:02d}+07:00", "n": s} for s in (0, 0, 10, 40)]
    records.append({"time": "garbled", "n": -1})
    plan = list(replay_plan("signals", records, speed=10))
    assert [[r["n"] for r in group] for _, group in plan] == [[-1], [0, 0], [10], [40]]
    assert [wait for wait, _ in plan] == [0.0, 0.0, 1.0, 3.0]
    assert [len(group) for _, group in replay_plan("signals", records, None, chunk=2)] == [2, 2, 1]


def test_reasons_group_by_kind_not_by_value() -> None:
    assert reason_kind("occupied 11 exceeds capacity 10") == reason_kind(
        "occupied 7 exceeds capacity 3")
    assert reason_kind("unknown vehicle type 'truck'") == "unknown vehicle type …"


def test_the_command_line_reports_counts_and_reasons(
    ingest: Ingest, db: str, tmp_path: Path
) -> None:
    path = _signal_csv(tmp_path / "den.csv")
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps(SIGNAL_MAP))
    env = {"IOC_DATABASE__URL": db, "IOC_REDIS__URL": ingest_redis_url(ingest),
           "IOC_REDIS__PREFIX": ingest.bus.prefix, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "ioc", "import", "signals", str(path), "--mapping-file",
         str(mapping)], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # Three events, and the unit status they establish.
    assert done.stdout.splitlines()[0] == "signals: 4 accepted, 2 rejected"
    bad = subprocess.run(
        [sys.executable, "-m", "ioc", "import", "trams", str(path)], cwd=PROJECT, env=env,
        capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "unknown feed 'trams'" in bad.stderr


async def test_queue_events_in_json_lines_import_with_a_truncated_line_refused(
    ingest: Ingest, db: str, tmp_path: Path
) -> None:
    lines = [
        {"kind": "ticket", "point_id": "mc-001-ba-dinh", "ticket_id": f"20261123-{n:04d}",
         "event": "issued", "at": f"2026-11-23T08:0{n}:00+07:00", "service_type": "land"}
        for n in range(3)
    ]
    path = tmp_path / "mot-cua.jsonl"
    path.write_bytes(b"".join(json.dumps(line).encode() + b"\n" for line in lines)
                     + b'{"kind": "ticket", "point_id": "mc-0')
    report = await import_file(_settings(ingest, db), "queues", path, {})
    assert (report.accepted, report.rejected) == (3, 1)
    assert await ingest.count("queue_ticket_events") == 3


def test_a_gtfs_zip_is_checked_with_its_counts() -> None:
    report = check_gtfs(shared_file("gtfs/caltrain/gtfs.zip"))
    assert report.summary == "109 stops, 9 routes, 176 trips, 3498 stop times"
    assert report.rejected == 0
