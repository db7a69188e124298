"""Faults injected on demand through the API show up in the city's live state."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg

from tests.ioc.server import Server, wait_until

SIGNAL = "sig-kim-ma-giang-van-minh"
# Open around the clock, so that the fault fills it at whatever hour the city is pinned to
# (a shut car park stays shut: tests/feeds/test_simulator.py).
CAR_PARK = "bd-lieu-giai"


def _fault(server: Server, **body: Any) -> httpx.Response:
    return server.post("/api/simulator/faults", json=body)


def test_a_signal_put_into_flash_on_demand_is_reported_in_flash(
    server: Server, database_url: str
) -> None:
    response = _fault(server, feed="signals", kind="flash", target=SIGNAL, minutes=5)
    assert response.status_code == 202 and response.json()["receivers"] >= 1

    def state() -> str | None:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT state FROM signal_status_latest WHERE signal_id = %s",
                               (SIGNAL,)).fetchone()
        return row[0] if row and row[0] == "flash" else None

    assert wait_until(state) == "flash"


def test_a_car_park_filled_on_demand_reports_full(server: Server) -> None:
    assert _fault(server, feed="parking", kind="filling", target=CAR_PARK,
                  minutes=0.2).status_code == 202

    def status() -> str | None:
        sites = server.get("/api/parking/sites").json()["features"]
        site = next(f["properties"] for f in sites if f["id"] == CAR_PARK)
        return site["status"] if site["status"] == "full" else None

    assert wait_until(status) == "full"


def test_impossible_faults_are_refused_with_a_reason(server: Server) -> None:
    wrong_kind = _fault(server, feed="parking", kind="flash", target=CAR_PARK)
    assert wrong_kind.status_code == 422
    assert "has no fault 'flash'" in wrong_kind.json()["detail"]
    assert _fault(server, feed="signals", kind="flash", minutes=0).status_code == 422
