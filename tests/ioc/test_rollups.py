"""Roll-ups: their figures equal the same figures from raw rows, at every width, for a
district, an asset and the whole city; late rows, repeated passes and retention."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from feeds.clock import Clock
from ioc.history.maintainer import Maintainer, continuous_rollups, refresh_continuous
from ioc.history.rollups import ROLLUPS, parameters, raw_select
from ioc.history.series import SeriesRequest, kpi_series, raw_kpi_series
from ioc.settings import PROJECT_ROOT, HistorySettings
from ioc.storage.pool import open_pool
from tests.ioc.rawrows import ASSETS, HOURS, NOW, POINTS, T0, TARGETS, raw_rows, store


@pytest.fixture
async def pool(db: str) -> AsyncIterator[AsyncConnectionPool]:
    """A pool on the migrated test database; the roll-ups are emptied after the test (under
    TimescaleDB, emptying the raw tables leaves continuous aggregates' buckets behind)."""
    pool = await open_pool(db)
    yield pool
    relations = [r.relation(w) for r in ROLLUPS.values() for w in ("1m", "15m", "1h")]
    async with pool.connection() as conn:
        await conn.execute(f"TRUNCATE {', '.join(relations)}".encode())
    await pool.close()


def maintainer(pool: AsyncConnectionPool, **settings: Any) -> Maintainer:
    """A plain-PostgreSQL maintainer with the pack's desk targets."""
    return Maintainer(pool, HistorySettings(**settings), TARGETS, "postgresql",
                      Clock.pinned(NOW))


async def policies_refresh(db: str, start: datetime, end: datetime) -> None:
    """Under TimescaleDB, what the refresh policies do by the clock (these rows lie days
    back, outside their windows): refresh every continuous aggregate over [start, end).
    Plain PostgreSQL has none, and this does nothing."""
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        for rollup in await continuous_rollups(conn):
            await refresh_continuous(conn, rollup, start, end)


async def _all(conn: psycopg.AsyncConnection, relation: str) -> list[tuple[Any, ...]]:
    cur = await conn.execute(f"SELECT * FROM {relation} ORDER BY 1, 2, 3".encode())
    return list(await cur.fetchall())


async def test_every_rollup_relation_has_the_columns_its_definition_names(
    pool: AsyncConnectionPool,
) -> None:
    async with pool.connection() as conn:
        for rollup in ROLLUPS.values():
            for width in ("1m", "15m", "1h"):
                cur = await conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
                    " ORDER BY ordinal_position", (rollup.relation(width),))
                assert [r[0] for r in await cur.fetchall()] == rollup.columns


def test_the_timescaledb_aggregates_carry_the_measures_the_tables_do() -> None:
    sql = (PROJECT_ROOT / "ioc/storage/migrations/008_rollups.timescaledb.sql").read_text()
    for rollup in ROLLUPS.values():
        for width in ("1m", "15m", "1h"):
            created = f"CREATE MATERIALIZED VIEW {rollup.relation(width)}\n" in sql
            assert created == rollup.continuous, rollup.relation(width)
        if rollup.continuous:
            for measure in rollup.measures:
                assert f"{measure.raw} AS {measure.name}" in sql
                assert f"{measure.combined()} AS {measure.name}" in sql
            assert f"{rollup.asset} AS asset_id" in sql


async def test_rollup_figures_equal_the_figures_computed_from_raw_rows(
    pool: AsyncConnectionPool,
) -> None:
    async with pool.connection() as conn:
        await store(conn, raw_rows(seed=7))
    report = await maintainer(pool).run_once(NOW)
    assert set(report.watermarks) == set(ROLLUPS)
    start, end = T0 + timedelta(minutes=7), T0 + timedelta(hours=HOURS)
    compared = 0
    async with pool.connection() as conn:
        for rollup in ROLLUPS.values():
            scopes: list[dict[str, str | None]] = [
                {"district": "001"}, {"district": "005"}, {},
                {"asset": ASSETS[rollup.name]},
            ]
            for width in ("1m", "15m", "1h"):
                for kpi in rollup.kpis:
                    for scope in scopes:
                        asked = SeriesRequest(rollup, kpi, start, end, width,
                                              scope.get("district"), scope.get("asset"))
                        from_rollup = await kpi_series(conn, asked)
                        from_raw = await raw_kpi_series(conn, asked, TARGETS)
                        assert from_rollup == from_raw, (rollup.name, kpi.name, width, scope)
                        compared += sum(v is not None for _, v in from_rollup)
    assert compared > 5000


async def test_queue_waits_pair_calls_with_issues_and_judge_them_by_the_desks_target(
    pool: AsyncConnectionPool,
) -> None:
    point = POINTS[0]
    target = TARGETS[point]
    issued = T0 + timedelta(minutes=1)
    rows = [(issued, point, "a", "issued", "land", None, "001"),
            (issued + timedelta(minutes=target - 1), point, "a", "called", "land", "c", "001"),
            (issued, point, "b", "issued", "land", None, "001"),
            (issued + timedelta(minutes=target + 5), point, "b", "called", "land", "c", "001")]
    async with pool.connection() as conn:
        await store(conn, {"queue_ticket_events": rows})
    await maintainer(pool).run_once(T0 + timedelta(hours=2))
    rollup = ROLLUPS["queues"]
    async with pool.connection() as conn:
        points = {kpi: await kpi_series(conn, SeriesRequest(
            rollup, rollup.kpi(kpi), T0, T0 + timedelta(hours=1), "1h", "001"))
            for kpi in ("tickets_issued", "service_level", "wait_mean_min", "wait_max_min")}
    assert points["tickets_issued"][0][1] == 2
    assert points["service_level"][0][1] == 0.5
    assert points["wait_mean_min"][0][1] == pytest.approx(target + 2)
    assert points["wait_max_min"][0][1] == pytest.approx(target + 5)


async def test_late_rows_are_counted_and_repeated_passes_change_nothing(
    db: str, pool: AsyncConnectionPool,
) -> None:
    async with pool.connection() as conn:
        await store(conn, raw_rows(seed=3))
    keeper = maintainer(pool, lateness_s=900)
    await keeper.run_once(NOW)
    async with pool.connection() as conn:
        before = await _all(conn, "parking_1h")
        # A reading of 10 minutes ago arrives only now.
        late = NOW - timedelta(minutes=10)
        await store(conn, {"parking_occupancy": [
            (late, "site-0", "car", "001", 60, 60, "full")]})
    await keeper.run_once(NOW + timedelta(minutes=1))
    await policies_refresh(db, late, NOW + timedelta(minutes=1))
    await keeper.run_once(NOW + timedelta(minutes=1))
    async with pool.connection() as conn:
        after = await _all(conn, "parking_1h")
        key = (T0 + timedelta(hours=2), "site-0", "001")
        old = next(r for r in before if r[:3] == key)
        assert next(r for r in after if r[:3] == key) == (
            *key, old[3] + 1, old[4] + 60, old[5] + 60, 1.0)
        assert [r for r in after if r[:3] != key] == [r for r in before if r[:3] != key]
        # Equal to a roll-up recomputed from nothing.
        await conn.execute("TRUNCATE parking_1m, parking_15m, parking_1h, rollup_watermarks")
        await conn.commit()
    await keeper.run_once(NOW + timedelta(minutes=1))
    async with pool.connection() as conn:
        assert await _all(conn, "parking_1h") == after


async def test_a_pass_interrupted_midway_resumes_from_its_watermark(
    pool: AsyncConnectionPool,
) -> None:
    start = T0 - timedelta(days=2)
    async with pool.connection() as conn:
        await store(conn, {"parking_occupancy": raw_rows(seed=5, start=start, hours=50)[
            "parking_occupancy"]})
    keeper = maintainer(pool)
    # The first pass gets as far as a day in, then the worker stops.
    first = await keeper.run_once(start + timedelta(hours=20))
    assert first.watermarks["parking"] == start + timedelta(hours=20)
    await keeper.run_once(start + timedelta(hours=51))
    async with pool.connection() as conn:
        resumed = await _all(conn, "parking_15m")
        cur = await conn.execute(
            f"SELECT * FROM ({raw_select(ROLLUPS['parking'])}) r ORDER BY 1, 2, 3".encode(),
            {**parameters(TARGETS), "width": timedelta(minutes=15), "start": start,
             "end": start + timedelta(hours=51)})
        assert resumed == list(await cur.fetchall())
        assert len(resumed) == 6 * 50 * 4


async def test_retention_drops_old_raw_rows_but_keeps_their_rollups(
    pool: AsyncConnectionPool,
) -> None:
    async with pool.connection() as conn:
        await store(conn, raw_rows(seed=11))
    keeper = maintainer(pool, retention_days={"parking": 1, "brt_taps": 1}, rollup_1m_days=1)
    await keeper.run_once(NOW)
    async with pool.connection() as conn:
        kept_1h = await _all(conn, "parking_1h")
        taps_before = len(await _all(conn, "taps_1h"))
    report = await keeper.run_once(T0 + timedelta(days=1, hours=2))
    assert report.deleted["parking_occupancy"] > 0
    async with pool.connection() as conn:
        remaining = await (await conn.execute(
            "SELECT count(*), min(time) FROM parking_occupancy")).fetchone()
        assert remaining is not None
        assert remaining[0] > 0 and remaining[1] >= T0 + timedelta(hours=2)
        assert await _all(conn, "parking_1h") == kept_1h
        assert len(await _all(conn, "taps_1h")) == taps_before
        # Signals keep 400 days by default: nothing of theirs went.
        signals = await (await conn.execute("SELECT count(*) FROM signal_events")).fetchone()
        assert signals == (3000,)


def test_retention_settings_keep_defaults_for_feeds_left_out() -> None:
    settings = HistorySettings(retention_days={"parking": 30})
    assert settings.retention_days["parking"] == 30
    assert settings.retention_days["brt_taps"] == 90
    with pytest.raises(ValueError, match="positive"):
        HistorySettings(retention_days={"signals": 0})
