"""Open data without sign-in: district KPIs and hourly roll-ups under a licence, documented
field by field, cached, rate-limited, and free of anything identifying a person."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest

from ioc.history.maintainer import rebuild
from ioc.history.rollups import ROLLUPS, parameters
from tests.ioc.inprocess import app_settings, in_process
from tests.ioc.rawrows import HOURS, T0, TARGETS, raw_rows, store

END = T0 + timedelta(hours=HOURS)
# Field names that would identify a person, a vehicle, a card, a ticket or a session, or
# the assets a figure was summed over.
PERSONAL = re.compile(r"(plate|card|hash|ticket_id|ticket_no|session|vehicle_id|person|user|"
                      r"phone|email|trip_id|asset|site_id|point_id|signal_id|stop_id|counter_id)",
                      re.IGNORECASE)


async def _stored(db: str) -> None:
    rows = raw_rows(seed=31)
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        await store(conn, rows)
        await conn.execute(
            "INSERT INTO parking_sessions (time, site_id, session_id, ended, vehicle_type,"
            " district) SELECT %s::timestamptz + n * interval '1 minute', 'site-1',"
            " 'sess-' || n, false, 'car', '001' FROM generate_series(1, 50) n", (T0,))
        for rollup in ROLLUPS.values():
            await rebuild(conn, rollup, T0 - timedelta(hours=1), END + timedelta(hours=1),
                          parameters(TARGETS))


RATE = 40


@pytest.fixture
async def client(db: str, redis_url: str, redis_prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    """The real application in this process; no sign-in header is ever sent."""
    settings = app_settings(db, redis_url, redis_prefix,
                            history={"open_data_per_minute": RATE})
    async with in_process(settings) as (_, client):
        yield client


async def _open(client: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    return await client.get(f"/api/open/v1{path}",
                            params={k: v.isoformat() if hasattr(v, "isoformat") else v
                                    for k, v in params.items()})


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


async def _identifiers(db: str) -> set[str]:
    """Every id-like value of the raw tables: card hashes, vehicles, tickets, sessions,
    trips, and the asset ids figures are summed over."""
    queries = ["SELECT card_hash FROM brt_taps", "SELECT vehicle_id FROM brt_vehicle_positions",
               "SELECT ticket_id FROM queue_ticket_events",
               "SELECT session_id FROM parking_sessions",
               "SELECT site_id FROM parking_occupancy", "SELECT signal_id FROM signal_events",
               "SELECT point_id FROM queue_ticket_events", "SELECT stop_id FROM brt_taps"]
    found: set[str] = set()
    async with await psycopg.AsyncConnection.connect(db) as conn:
        for sql in queries:
            cur = await conn.execute(sql.encode())
            found |= {str(r[0]) for r in await cur.fetchall() if r[0]}
    return found


async def test_hourly_figures_per_district_come_licensed_and_documented(
    db: str, client: httpx.AsyncClient
) -> None:
    await _stored(db)
    response = await _open(client, "/hourly/parking", start=T0, end=END)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["licence"]["id"] == "CC-BY-4.0"
    assert body["licence"]["url"].startswith("https://creativecommons.org/")
    records = body["data"]
    assert {r["district"] for r in records} == {"001", "002", "005"}  # never '' (outside)
    assert len({r["hour"] for r in records}) == HOURS
    # Each figure equals the planners' history series for that district and hour.
    dictionary = (await _open(client, "/dictionary")).json()["data"]
    for record in records:
        assert set(record) <= set(dictionary["hourly"]["parking"]["fields"]) | set(
            dictionary["common"])
        assert 0 <= record["occupancy"] <= 1
    first = next(r for r in records if r["district"] == "001")
    assert first["readings"] == 2 * 2 * 60  # sites 0 and 4, two vehicle types, a minute each
    for feed in ROLLUPS:
        fields = dictionary["hourly"][feed]["fields"]
        assert all(f["unit"] and f["description"] for f in fields.values())
    districts = (await _open(client, "/districts")).json()
    assert districts["licence"]["id"] == "CC-BY-4.0"
    assert len(districts["data"]) == 30
    for record in districts["data"]:
        assert set(record) <= set(dictionary["districts"]) | set(dictionary["common"])


async def test_answers_are_cached_with_an_etag_a_client_can_revalidate(
    db: str, client: httpx.AsyncClient
) -> None:
    first = await _open(client, "/hourly/queues", start=T0, end=END)
    assert first.status_code == 200
    assert "public, max-age=" in first.headers["cache-control"]
    again = await client.get("/api/open/v1/hourly/queues",
                             params={"start": T0.isoformat(), "end": END.isoformat()},
                             headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert (await _open(client, "/hourly/weather")).status_code == 404
    too_long = await _open(client, "/hourly/parking", start=T0 - timedelta(days=40), end=END)
    assert too_long.status_code == 422


async def test_nothing_personal_or_identifying_leaves_through_open_data(
    db: str, client: httpx.AsyncClient
) -> None:
    await _stored(db)
    identifiers = await _identifiers(db)
    assert len(identifiers) > 500
    bodies = [await _open(client, "/dictionary"), await _open(client, "/districts")]
    bodies += [await _open(client, f"/hourly/{feed}", start=T0 - timedelta(hours=1),
                           end=END + timedelta(hours=1)) for feed in ROLLUPS]
    for response in bodies:
        assert response.status_code == 200, response.text
        payload = response.json()
        leaked = {k for k in _keys(payload["data"]) if PERSONAL.search(k)}
        assert not leaked, (response.url, leaked)
        data = response.text.split('"data":', 1)[1]
        strings = set(re.findall(r'"([^"]*)"', data))
        assert not strings & identifiers, (response.url, strings & identifiers)
    assert sum(len(r.json()["data"]) for r in bodies[2:]) >= 45


async def test_each_client_address_is_held_to_its_rate(client: httpx.AsyncClient) -> None:
    # Counted in fixed windows of a minute: within two windows' worth of requests one must
    # be refused, whenever the test starts.
    statuses = []
    for _ in range(2 * RATE + 2):
        statuses.append((await _open(client, "/dictionary")).status_code)
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {200}
    refused = await _open(client, "/dictionary")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
