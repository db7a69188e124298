"""Situations through `ioc run`, over HTTP and the live socket: a signal still in flash after an
operator resolved its situation opens a new one, linked to it; a restart of the service shows
the open situations at once and opens none because of the restart.

The city runs from a pinned hour (night and day) ten times faster than real time, so that the
rules' durations pass quickly; the restart moves the city clock on by ten minutes, as a
service down for that long would find it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.sync.client import connect

from tests.clock import HOURS
from tests.conftest import PROJECT, serving
from tests.ioc.server import Server, start, stop, wait_until

SIGNAL = "sig-kim-ma-giang-van-minh"
NEIGHBOUR = "sig-giang-vo-cat-linh"
FLASH_MIN_S = 2.0  # the flash rule's minimum duration here (city seconds)
SPEED = 10
GUARD_S = 60.0  # hang guards only


def _rules(folder: Path) -> Path:
    """The pack's signal and feed rules, a flash raising after FLASH_MIN_S; no others."""
    rules = orjson.loads((PROJECT / "packs" / "hanoi" / "rules.json").read_bytes())
    for rule in rules["rules"]:
        rule["enabled"] = rule["condition"]["source"] in ("signal_status", "feed")
        if rule["id"] == "signal-flash":
            rule["min_duration_s"] = FLASH_MIN_S
    path = folder / "rules-restart.json"
    path.write_bytes(orjson.dumps(rules))
    return path


def _situations(server: Server) -> list[dict[str, Any]]:
    reply = server.get("/api/situations", params={"status": ["open", "acknowledged",
                                                            "in_progress", "resolved",
                                                            "closed"]})
    assert reply.status_code == 200, reply.text
    found: list[dict[str, Any]] = reply.json()["situations"]
    return found


def _flash(server: Server, signal: str) -> None:
    reply = server.post("/api/simulator/faults", json={
        "feed": "signals", "kind": "flash", "target": signal, "minutes": 60})
    assert reply.status_code < 300, reply.text


def _open_about(server: Server, signal: str, other_than: frozenset[int] = frozenset()
                ) -> dict[str, Any]:
    """The open situation about `signal` (not one of `other_than`), once there is one."""
    def found() -> dict[str, Any] | None:
        return next((s for s in _situations(server) if s["asset_id"] == signal
                     and s["status"] == "open" and s["id"] not in other_than), None)

    return wait_until(found, timeout=GUARD_S)


def _hello_and_snapshot(server: Server) -> tuple[datetime, list[dict[str, Any]]]:
    """The city time a fresh client is greeted with, and its first situations snapshot."""
    with connect(server.ws_url, max_size=2**24, open_timeout=GUARD_S) as ws:
        hello = orjson.loads(ws.recv(timeout=GUARD_S))
        while True:
            message = orjson.loads(ws.recv(timeout=GUARD_S))
            if message["type"] == "snapshot" and message["stream"] == "situations":
                return datetime.fromisoformat(hello["server_time"]), message["situations"]


@pytest.fixture
def city(database_url: str, servers: tuple[str, str], tmp_path: Path,
         request: pytest.FixtureRequest) -> Iterator[tuple[Server, list[Server]]]:
    """`ioc run` with simulated signals from the hour asked, and a list for the servers the
    test starts after it (stopped at the end)."""
    at: datetime = HOURS[request.param]
    later: list[Server] = []
    env = {"IOC_FEEDS": '["signals"]', "IOC_SITUATIONS__RULES_FILE": str(_rules(tmp_path)),
           "IOC_CLOCK__START": at.isoformat(), "IOC_CLOCK__SPEED": str(SPEED)}
    with serving(database_url, servers[1], tmp_path, env) as server:
        try:
            yield server, later
        finally:
            for other in later:
                if other.process.poll() is None:
                    stop(other)


@pytest.mark.parametrize("city", sorted(HOURS), indirect=True)
def test_a_resolved_flash_reopens_and_a_restart_opens_nothing_new(
    city: tuple[Server, list[Server]], tmp_path: Path,
) -> None:
    server, later = city
    _flash(server, SIGNAL)
    first = _open_about(server, SIGNAL)
    resolved = server.post(f"/api/situations/{first['id']}/resolve",
                           json={"note": "MMU reset from the centre"})
    assert resolved.status_code == 200, resolved.text
    # The controller is still in flash: after the rule's duration a new situation opens.
    second = _open_about(server, SIGNAL, frozenset({first["id"]}))
    detail = server.get(f"/api/situations/{second['id']}").json()
    assert detail["reopened_from"] == first["id"]
    assert detail["evidence"][0]["reopened_from"] == first["id"]
    ended = server.get(f"/api/situations/{first['id']}").json()
    assert ended["status"] == "resolved" and ended["reopened_as"] == [second["id"]]
    waited = (datetime.fromisoformat(detail["opened_at"])
              - datetime.fromisoformat(ended["resolved_at"]))
    assert waited >= timedelta(seconds=FLASH_MIN_S)

    before = {s["id"]: s for s in _situations(server)}
    city_time, snapshot = _hello_and_snapshot(server)
    assert {s["id"] for s in snapshot} == {i for i, s in before.items()
                                          if s["status"] != "closed"}
    assert stop(server) == 0
    # Ten minutes later in the city, the service starts again.
    restart_at = city_time + timedelta(minutes=10)
    later.append(start({**server.env, "IOC_CLOCK__START": restart_at.isoformat()},
                       tmp_path / "restarted.log"))
    restarted = later[0]
    _, snapshot = _hello_and_snapshot(restarted)
    assert {s["id"] for s in snapshot} == {i for i, s in before.items()
                                          if s["status"] != "closed"}
    # Past two minutes of city time (the signals feed's lag allowance is one), a new flash
    # opens its situation: the only one since the restart.
    wait_until(lambda: _hello_and_snapshot(restarted)[0]
               >= restart_at + timedelta(minutes=2), timeout=GUARD_S)
    _flash(restarted, NEIGHBOUR)
    fresh = _open_about(restarted, NEIGHBOUR)
    assert {s["id"] for s in _situations(restarted)} == {*before, fresh["id"]}
