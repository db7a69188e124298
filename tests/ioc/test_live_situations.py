"""Open situations on the live wall: a fresh client's snapshot of /ws/live lists every
situation the database holds not closed, and lists them at once after the service restarts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from websockets.sync.client import connect

from ioc.live.streams import Places, registry, split
from tests.ioc.server import Server, start, stop

GUARD_S = 20.0  # a hang guard on each frame, not a speed check
# (title, status) of the situations an engine had left in the database.
STORED = [("flash", "open"), ("dark", "acknowledged"), ("comm lost", "in_progress"),
          ("repaired", "resolved"), ("long over", "closed")]


def test_a_situations_snapshot_splits_into_its_situations() -> None:
    spec = registry()["situations"]
    body = {"situations": [{"id": 4, "status": "open", "lon": 105.8, "lat": 21.0},
                           {"id": 5, "status": "resolved", "district": "001"}]}
    items, extras = split(spec, body, Places())
    assert [(i.section, i.key, i.district, i.lon) for i in items] == [
        ("situations", "4", None, 105.8), ("situations", "5", "001", None)]
    assert extras == {}


def _store(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {title: conn.execute(
            "INSERT INTO situations (type, severity, base_severity, status, title, title_en,"
            " rule_id, asset_kind, asset_id, district, lon, lat) VALUES ('signal_fault',"
            " 'major', 'major', %s, %s, %s, 'signal-flash', 'signal', %s, '001', 105.83, 21.03)"
            " RETURNING id", (status, title, title, f"sig-{title}")).fetchone()[0]  # type: ignore[index]
            for title, status in STORED}


def _snapshot(server: Server) -> list[dict[str, Any]]:
    """The situations of a fresh client's first snapshot of the stream."""
    with connect(server.ws_url, max_size=2**24, open_timeout=GUARD_S) as ws:
        while True:
            message = orjson.loads(ws.recv(timeout=GUARD_S))
            if message["type"] == "snapshot" and message["stream"] == "situations":
                situations: list[dict[str, Any]] = message["situations"]
                return situations


@pytest.fixture
def env(db: str, redis_url: str, redis_prefix: str) -> dict[str, str]:
    """`ioc run` serving the test database, with no feed and no engine to change it."""
    return {"IOC_DATABASE__URL": db, "IOC_REDIS__URL": redis_url,
            "IOC_REDIS__PREFIX": redis_prefix, "IOC_FEEDS": "[]",
            "IOC_SITUATIONS__ENABLED": "false"}


@pytest.fixture
def served(env: dict[str, str], tmp_path: Path) -> Iterator[list[Server]]:
    """The servers a test starts, stopped at its end."""
    servers: list[Server] = []
    yield servers
    for server in servers:
        if server.process.poll() is None:
            stop(server)


def test_a_fresh_client_sees_the_open_situations_also_right_after_a_restart(
    db: str, env: dict[str, str], served: list[Server], tmp_path: Path,
) -> None:
    ids = _store(db)
    not_closed = {ids[title] for title, status in STORED if status != "closed"}
    served.append(start(env, tmp_path / "first.log"))
    listed = _snapshot(served[0])
    assert {s["id"] for s in listed} == not_closed
    flash = next(s for s in listed if s["id"] == ids["flash"])
    assert (flash["status"], flash["severity"], flash["asset_id"]) == (
        "open", "major", "sig-flash")
    assert stop(served[0]) == 0
    # Restarted: the first snapshot a client gets holds them, before anything is published.
    served.append(start(served[0].env, tmp_path / "second.log"))
    assert {s["id"] for s in _snapshot(served[1])} == not_closed
