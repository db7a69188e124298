"""Feed to bus to committed rows: acknowledged only after commit, stored once, nothing lost."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest
from prometheus_client import REGISTRY
from psycopg_pool import PoolClosed
from redis.asyncio import Redis

from feeds.parking import ParkingFeed
from feeds.runner import FeedRunner
from feeds.simulator import ParkingSimulator
from geo import AreaIndex, CityPack, load_pack
from ioc.bus import GROUP, RedisBus, parse_live
from ioc.settings import PROJECT_ROOT
from ioc.storage.pool import open_pool
from ioc.tables import TABLES, LiveDelta
from ioc.writer import Writer
from tests.clock import TEST_CLOCK

NOON_HANOI = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


@dataclass
class Pipeline:
    bus: RedisBus
    runner: FeedRunner
    pool: object
    db_url: str
    clock: list[datetime]


@pytest.fixture(scope="module")
def pack() -> CityPack:
    return load_pack(PROJECT_ROOT / "packs" / "hanoi")


@pytest.fixture
async def pipeline(
    db: str, redis_url: str, redis_prefix: str, pack: CityPack
) -> AsyncIterator[Pipeline]:
    redis = Redis.from_url(redis_url)
    bus = RedisBus(redis, redis_prefix)
    clock = [NOON_HANOI]
    sim = ParkingSimulator(pack.asset_features("parking"), now=lambda: clock[0])
    index = AreaIndex(pack.layer(pack.default_layer))
    runner = FeedRunner(ParkingFeed(sim), bus, index.assign, clock=TEST_CLOCK)
    pool = await open_pool(db)
    try:
        yield Pipeline(bus, runner, pool, db, clock)
    finally:
        await pool.close()
        await redis.aclose()


def _writer(p: Pipeline, consumer: str = "w1") -> Writer:
    return Writer(p.pool, p.bus, ["parking"], consumer=consumer, block_ms=100)  # type: ignore[arg-type]


async def _count(url: str, sql: str) -> int:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        row = await (await conn.execute(sql)).fetchone()
        return int(row[0]) if row else 0


def _commits() -> float:
    """Batches the writer's commit-latency histogram has observed in this process."""
    return REGISTRY.get_sample_value("ioc_writer_commit_seconds_count") or 0.0


async def _drain(writer: Writer) -> None:
    """Step until two reads in a row find nothing (the pending pass, then the new entries)."""
    idle = 0
    while idle < 2:
        idle = 0 if await writer.step() else idle + 1


async def test_simulated_parking_lands_in_storage_by_district_and_goes_live(
    pipeline: Pipeline, pack: CityPack
) -> None:
    pubsub = pipeline.bus.redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(pipeline.bus.live_channel)
    writer = _writer(pipeline)
    await writer.start()
    commits = _commits()
    sent = await pipeline.runner.run_once()
    await _drain(writer)
    assert _commits() > commits, "each committed batch is timed in /metrics"

    sites = len(pack.asset_features("parking"))
    assert sent >= sites
    assert await _count(pipeline.db_url, "SELECT count(*) FROM parking_occupancy") == sent
    assert await _count(
        pipeline.db_url, "SELECT count(*) FROM parking_occupancy WHERE district IS NULL"
    ) == 0
    # Hoàn Kiếm (002) has car parks in the Hanoi pack, and its figures add up.
    async with await psycopg.AsyncConnection.connect(pipeline.db_url) as conn:
        cur = await conn.execute(
            "SELECT sum(capacity), sum(occupied) FROM parking_latest WHERE district = '002'"
        )
        capacity, occupied = await cur.fetchone()  # type: ignore[misc]
    assert capacity > 0 and 0 < occupied <= capacity

    streams = {}
    while len(streams) < 2:
        # Returns None for the subscription's own confirmation too, so keep asking.
        message = await asyncio.wait_for(pubsub.get_message(timeout=1.0), timeout=5.0)
        if message is not None:
            live = parse_live(message["data"])
            streams[live.stream] = orjson.loads(live.body)
    await pubsub.aclose()
    hk = next(d for d in streams["districts"]["districts"] if d["code"] == "002")
    assert hk["parking"]["capacity"] == capacity
    assert hk["parking"]["occupied"] == occupied
    assert len(streams["parking"]["sites"]) == sites
    pending = await pipeline.bus.redis.xpending(pipeline.bus.stream("parking"), GROUP)
    assert pending["pending"] == 0


async def test_a_replayed_batch_is_stored_once(pipeline: Pipeline) -> None:
    writer = _writer(pipeline)
    await writer.start()
    payload = await pipeline.runner.feed.fetch()
    observations = pipeline.runner.feed.parse(payload).observations
    tagged = [o.with_district("002") for o in observations]
    await pipeline.bus.publish("parking", tagged)
    await pipeline.bus.publish("parking", tagged)
    await _drain(writer)
    assert await _count(pipeline.db_url, "SELECT count(*) FROM parking_occupancy") == len(tagged)
    assert writer.stats.duplicates == len(tagged)
    health = await pipeline.bus.health("parking")
    assert int(health["duplicates_total"]) == len(tagged)


async def test_bad_records_go_to_the_dead_letter_store_and_the_rest_is_stored(
    pipeline: Pipeline,
) -> None:
    good = orjson.loads(await pipeline.runner.feed.fetch())["sites"]
    broken = [{**good[0], "id": ""}, {**good[1], "observed_at": "yesterday"}]

    async def source() -> bytes:
        return orjson.dumps({"sites": good[2:] + broken})

    pipeline.runner.feed = ParkingFeed(source)
    writer = _writer(pipeline)
    await writer.start()
    await pipeline.runner.run_once()
    await _drain(writer)
    async with await psycopg.AsyncConnection.connect(pipeline.db_url) as conn:
        rows = await (
            await conn.execute("SELECT feed, reason, payload FROM dead_letter ORDER BY position")
        ).fetchall()
    assert [(feed, reason) for feed, reason, _ in rows] == [
        ("parking", "id must be a non-empty string"),
        ("parking", "observed_at 'yesterday' is not ISO 8601"),
    ]
    assert orjson.loads(rows[1][2])["observed_at"] == "yesterday"
    stored = await _count(pipeline.db_url, "SELECT count(DISTINCT site_id) FROM parking_occupancy")
    assert stored == len(good) - 2
    assert int((await pipeline.bus.health("parking"))["rejected_total"]) == 2


async def test_entries_a_dead_writer_read_are_stored_once_by_a_running_one(
    pipeline: Pipeline,
) -> None:
    # A writer that was already running before the other one died, with a short claim time.
    survivor = Writer(pipeline.pool, pipeline.bus, ["parking"], consumer="w-survives",  # type: ignore[arg-type]
                      block_ms=100, claim_idle_ms=200)
    await survivor.start()
    await _drain(survivor)
    # A writer whose database is gone reads a batch and fails to commit it.
    broken_pool = await open_pool(pipeline.db_url)
    await broken_pool.close()
    dead = Writer(broken_pool, pipeline.bus, ["parking"], consumer="w-dies", block_ms=100)
    await dead.start()
    sent = await pipeline.runner.run_once()
    assert await dead.step() == 0  # its own pending entries: none yet
    with pytest.raises(PoolClosed):
        await dead.step()
    pending = await pipeline.bus.redis.xpending(pipeline.bus.stream("parking"), GROUP)
    assert pending["pending"] == 1, "the entry must stay pending until committed"
    assert await _count(pipeline.db_url, "SELECT count(*) FROM parking_occupancy") == 0

    # The running writer claims the abandoned entry once it has been idle long enough, and
    # commits it exactly once; a bounded wait, not a speed check.
    async def until_stored() -> None:
        while await _count(pipeline.db_url, "SELECT count(*) FROM parking_occupancy") < sent:
            await survivor.step()

    await asyncio.wait_for(until_stored(), timeout=30)
    await _drain(survivor)
    assert await _count(pipeline.db_url, "SELECT count(*) FROM parking_occupancy") == sent
    pending = await pipeline.bus.redis.xpending(pipeline.bus.stream("parking"), GROUP)
    assert pending["pending"] == 0


async def test_an_older_reading_never_moves_live_state_back(pipeline: Pipeline) -> None:
    writer = _writer(pipeline)
    await writer.start()
    await pipeline.runner.run_once()
    await _drain(writer)
    pipeline.clock[0] -= timedelta(hours=6)  # a late batch from 06:00
    await pipeline.runner.run_once()
    await _drain(writer)
    latest = await _count(
        pipeline.db_url, "SELECT count(*) FROM parking_latest WHERE time < '2026-11-23T05:00Z'"
    )
    assert latest == 0
    history = await _count(
        pipeline.db_url, "SELECT count(DISTINCT time) FROM parking_occupancy"
    )
    assert history == 2


async def test_trim_keeps_unacknowledged_entries(pipeline: Pipeline) -> None:
    writer = _writer(pipeline)
    await writer.start()
    await pipeline.runner.run_once()
    await _drain(writer)
    await pipeline.runner.run_once()  # published, not yet read by any writer
    stream = pipeline.bus.stream("parking")
    await pipeline.bus.trim(stream)
    assert await pipeline.bus.redis.xlen(stream) == 1
    await _drain(writer)
    assert await _count(pipeline.db_url, "SELECT count(DISTINCT time) FROM parking_occupancy") == 1


async def test_live_deltas_that_fail_cost_the_announcement_not_the_rows(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(conn: psycopg.AsyncConnection, rows: Sequence[object]) -> list[LiveDelta]:
        await conn.execute("SELECT no_such_function()")
        return []

    monkeypatch.setitem(TABLES, "parking", dataclasses.replace(TABLES["parking"], deltas=broken))
    labels = {"feed": "parking"}
    before = REGISTRY.get_sample_value("ioc_writer_delta_failures_total", labels) or 0.0
    writer = _writer(pipeline)
    await writer.start()
    sent = await pipeline.runner.run_once()
    await _drain(writer)
    # Stored and acknowledged once: the entry is not read and refused again for ever.
    assert await _count(pipeline.db_url, "SELECT count(*) FROM parking_occupancy") == sent
    pending = await pipeline.bus.redis.xpending(pipeline.bus.stream("parking"), GROUP)
    assert pending["pending"] == 0
    assert REGISTRY.get_sample_value("ioc_writer_delta_failures_total", labels) == before + 1
