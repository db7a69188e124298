"""`state at T` against hand-checked fixtures: assets, situations and district KPIs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from geo import AreaIndex
from ioc.history.state_at import Coordinates, state_at
from ioc.storage.brt import write_positions
from ioc.storage.parking import parking_sites, write_parking
from ioc.storage.pool import open_pool
from ioc.storage.queues import write_queues
from ioc.storage.signals import write_signals
from tests.auth import bearer
from tests.ioc.conftest import PACK
from tests.ioc.inprocess import app_settings, served

INDEX = AreaIndex(PACK.layer(PACK.default_layer))
COORDS = Coordinates.of(PACK)
SITES = COORDS.lookup("parking")
SIGNALS = COORDS.lookup("signals")
DESKS = COORDS.lookup("service_points")
SITE_A, SITE_B = sorted(SITES)[:2]
SIGNAL = sorted(SIGNALS)[0]
DESK = sorted(DESKS)[0]
# 08:00 in Hanoi on a Tuesday; every fixture time is relative to it.
T0 = datetime(2025, 3, 4, 1, 0, tzinfo=UTC)


def district(lon: float, lat: float) -> str:
    """The district the pipeline would tag a point with."""
    code = INDEX.assign([lon], [lat])[0]
    assert code is not None
    return code


def at(minutes: float) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def text(when: datetime) -> str:
    """A time as the writer's rows carry it."""
    return when.isoformat(timespec="microseconds")


def parking(site: str, minutes: float, occupied: int, capacity: int = 100,
            status: str = "spacesAvailable") -> tuple[Any, ...]:
    lon, lat = SITES[site]
    return (text(at(minutes)), site, "car", district(lon, lat), capacity, occupied, status,
            lon, lat)


def signal(minutes: float, state: str) -> tuple[str, tuple[Any, ...]]:
    lon, lat = SIGNALS[SIGNAL]
    return "status", (text(at(minutes)), SIGNAL, state, None, text(at(minutes)),
                      district(lon, lat), lon, lat)


def desk(minutes: float, waiting: int, counters: int) -> tuple[str, tuple[Any, ...]]:
    lon, lat = DESKS[DESK]
    return "counters", (text(at(minutes)), DESK, counters, waiting,
                        f'{{"civil": {waiting}}}', district(lon, lat), lon, lat)


def ticket(ticket_id: str, event: str, minutes: float) -> tuple[str, tuple[Any, ...]]:
    lon, lat = DESKS[DESK]
    return "ticket", (text(at(minutes)), DESK, ticket_id, event, "civil", "c1",
                      district(lon, lat))


def bus(vehicle: str, minutes: float, lon: float, lat: float) -> tuple[Any, ...]:
    return (text(at(minutes)), vehicle, "trip-1", "01", 0, "s1", 3, "IN_TRANSIT_TO", None,
            lon, lat, district(lon, lat))


@pytest.fixture
async def pool(db: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = await open_pool(db)
    async with pool.connection() as conn:
        await write_parking(conn, [
            parking(SITE_A, 0, 10), parking(SITE_A, 30, 20), parking(SITE_A, 60, 30),
            parking(SITE_B, -120, 55),  # older than the parking window at T = 45 min
            parking(SITE_B, 50, 99, status="almostFull"),
        ])
        await write_signals(conn, [signal(0, "normal"), signal(40, "flash"),
                                   signal(50, "normal")])
        await write_queues(conn, [
            desk(0, 3, 2), desk(44, 7, 3), desk(46, 1, 1),
            # Two tickets called in the hour before T = 45: waits of 10 and 20 minutes.
            ticket("A1", "issued", 0), ticket("A1", "called", 10),
            ticket("A2", "issued", 5), ticket("A2", "called", 25),
            ticket("A3", "issued", 30), ticket("A3", "called", 50),  # called after T
        ])
        await write_positions(conn, [
            bus("bus-1", 40, 105.80, 21.02), bus("bus-1", 44, 105.81, 21.03),
            bus("bus-1", 47, 105.82, 21.04),
            bus("bus-2", 30, 105.85, 21.03),  # silent for more than 10 minutes at T
        ])
    yield pool
    await pool.close()


async def _state(pool: AsyncConnectionPool, minutes: float) -> dict[str, Any]:
    async with pool.connection() as conn:
        return await state_at(conn, PACK, PACK.default_layer, INDEX, COORDS, at(minutes))


def _area(state: dict[str, Any], code: str) -> dict[str, Any]:
    return next(a for a in state["areas"] if a["code"] == code)


async def test_each_asset_shows_its_last_value_at_or_before_t(
        pool: AsyncConnectionPool) -> None:
    state = await _state(pool, 45)
    sites = {s["id"]: s for s in state["assets"]["parking"]}
    assert list(sites) == [SITE_A]  # SITE_B's last reading before T is stale
    assert sites[SITE_A]["occupied"] == 20
    assert sites[SITE_A]["updated_at"] == at(30).isoformat()
    assert [(u["id"], u["state"]) for u in state["assets"]["signals"]] == [(SIGNAL, "flash")]
    assert [(d["id"], d["waiting"], d["counters_open"]) for d in state["assets"]["queues"]] \
        == [(DESK, 7, 3)]
    assert [(v["id"], v["lon"], v["lat"]) for v in state["assets"]["brt"]] \
        == [("bus-1", 105.81, 21.03)]


async def test_a_value_stamped_exactly_t_counts_and_later_ones_do_not(
        pool: AsyncConnectionPool) -> None:
    state = await _state(pool, 60)
    sites = {s["id"]: s["occupied"] for s in state["assets"]["parking"]}
    assert sites == {SITE_A: 30, SITE_B: 99}
    assert (await _state(pool, -1))["assets"]["parking"] == []


async def test_district_figures_and_kpis_are_those_of_t(pool: AsyncConnectionPool) -> None:
    state = await _state(pool, 45)
    code_a = district(*SITES[SITE_A])
    area = _area(state, code_a)
    assert area["parking"]["occupied"] == 20 and area["parking"]["capacity"] == 100
    assert area["kpis"]["parking_occupancy"] == 0.2
    signal_area = _area(state, district(*SIGNALS[SIGNAL]))
    assert signal_area["signals"]["by_state"] == {"flash": 1}
    assert signal_area["kpis"]["signals_normal_share"] == 0.0
    desk_area = _area(state, district(*DESKS[DESK]))
    # Waits of 10 and 20 minutes: p90 = 10 + 0.9 × 10; one of two within the 15-minute target.
    assert desk_area["kpis"]["queue_wait_p90_min"] == 19.0
    assert desk_area["kpis"]["queue_service_level"] == 0.5
    assert desk_area["queues"] == {"desks": 1, "waiting": 7, "counters_open": 3}
    assert _area(state, district(105.81, 21.03))["brt"]["buses"] == 1
    assert sum(a["brt"]["buses"] for a in state["areas"]) == 1


async def test_the_live_state_is_untouched_by_a_look_at_the_past(
        pool: AsyncConnectionPool) -> None:
    await _state(pool, 45)
    async with pool.connection() as conn:
        live = {s["id"]: s["occupied"] for s in await parking_sites(conn)}
    assert live == {SITE_A: 30, SITE_B: 99}


async def _situations_table(pool: AsyncConnectionPool) -> bool:
    async with pool.connection() as conn:
        row = await (await conn.execute("SELECT to_regclass('situations') IS NOT NULL")
                     ).fetchone()
    return bool(row and row[0])


async def test_situations_open_at_t_are_those_opened_and_not_yet_resolved(
        pool: AsyncConnectionPool) -> None:
    if not await _situations_table(pool):
        pytest.skip("the situations table (migration 007) is not there yet")
    rows = [  # title, opened, resolved, closed (minutes)
        ("resolved before", 0, 20, 30), ("open across", 10, 60, 70),
        ("still open", 30, None, None), ("opened after", 50, None, None),
        ("resolved at T", 5, 45, None),
    ]
    async with pool.connection() as conn:
        for title, opened, resolved, closed in rows:
            await conn.execute(
                "INSERT INTO situations (type, severity, base_severity, status, title, title_en,"
                " rule_id, opened_at, resolved_at, closed_at) VALUES ('congestion', 'major',"
                " 'minor', %s, %s, %s, 'r1', %s, %s, %s)",
                ("closed" if closed is not None else "resolved" if resolved else "open", title,
                 title,
                 at(opened), None if resolved is None else at(resolved),
                 None if closed is None else at(closed)))
        # "open across" was acknowledged at 20 min; "still open" escalated at 50 min.
        await conn.execute(
            "INSERT INTO situation_events (situation_id, time, actor, action, from_status,"
            " to_status) SELECT id, %s, 'op', 'acknowledge', 'open', 'acknowledged'"
            " FROM situations WHERE title = 'open across'", (at(20),))
        await conn.execute("UPDATE situations SET escalated = true, escalated_at = %s"
                           " WHERE title = 'still open'", (at(50),))
    state = await _state(pool, 45)
    open_at_t = [(s["title"], s["status"], s["severity"], s["resolved_at"])
                 for s in state["situations"]]
    assert open_at_t == [("open across", "acknowledged", "major", None),
                         ("still open", "open", "minor", None)]


@pytest.fixture
async def client(pool: AsyncConnectionPool, db: str, redis_url: str,
                 redis_prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    async with served(app_settings(db, redis_url, redis_prefix)) as base, \
            httpx.AsyncClient(base_url=base, timeout=30) as http:
        yield http


async def test_the_state_endpoint_serves_planners_only(client: httpx.AsyncClient) -> None:
    query = {"at": at(45).isoformat(), "layer": "districts"}
    response = await client.get("/api/history/state", params=query, headers=bearer("planner"))
    assert response.status_code == 200
    body = response.json()
    assert [s["occupied"] for s in body["assets"]["parking"]] == [20]
    assert len(body["areas"]) == len(INDEX.layer.codes)
    viewer = await client.get("/api/history/state", params=query, headers=bearer("viewer"))
    assert viewer.status_code == 403
    unknown = await client.get("/api/history/state", headers=bearer("planner"),
                               params={**query, "layer": "no-such-layer"})
    assert unknown.status_code == 404


async def test_the_connection_goes_back_to_the_pool_reading_live_state(db: str) -> None:
    # One connection only: the look at the past and the live read share it.
    async with await psycopg.AsyncConnection.connect(db) as conn:
        await state_at(conn, PACK, PACK.default_layer, INDEX, COORDS, at(45))
        await conn.commit()
        # This session's own temporary tables (another test's replay may still hold some).
        cur = await conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname ="
            " (SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema())")
        row = await cur.fetchone()
    assert row is not None and row[0] == 0
