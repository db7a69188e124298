"""Fixtures for tests that push feeds through the real bus into the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from geo import AreaIndex, CityPack, load_pack
from ioc.bus import RedisBus
from ioc.settings import PROJECT_ROOT
from ioc.storage.pool import open_pool
from ioc.writer import Writer
from tests.auth import TEST_AUTH_SECRET
from tests.ioc.worker_processes import Workers

PACK = load_pack(PROJECT_ROOT / "packs" / "hanoi")


@dataclass
class Ingest:
    """A bus, a pool on the test database, and the Hanoi district index."""

    bus: RedisBus
    pool: AsyncConnectionPool
    index: AreaIndex
    pack: CityPack

    async def store(self, feeds: Sequence[str]) -> Writer:
        """Run a writer until the bus has nothing left for `feeds`; return it for its stats."""
        writer = Writer(self.pool, self.bus, feeds, block_ms=100)
        await writer.start()
        idle = 0
        # Two empty reads in a row: the pending pass, then the new entries.
        while idle < 2:
            idle = 0 if await writer.step() else idle + 1
        return writer

    async def count(self, table: str) -> int:
        """Rows in a table."""
        async with self.pool.connection() as conn:
            row = await (await conn.execute(f"SELECT count(*) FROM {table}")).fetchone()
            return int(row[0]) if row else 0


@pytest.fixture
async def ingest(db: str, redis_url: str, redis_prefix: str) -> AsyncIterator[Ingest]:
    """Everything a test needs to push observations through to storage."""
    redis = Redis.from_url(redis_url)
    pool = await open_pool(db)
    yield Ingest(RedisBus(redis, redis_prefix), pool,
                 AreaIndex(PACK.layer(PACK.default_layer)), PACK)
    await pool.close()
    await redis.aclose()


@pytest.fixture
def workers(db: str, redis_url: str, redis_prefix: str, tmp_path: Path) -> Iterator[Workers]:
    """Workers of the parking feed, claiming what another left after a second."""
    # No consumer names and no engine flag: the defaults must make two workers safe.
    env = {"IOC_DATABASE__URL": db, "IOC_REDIS__URL": redis_url,
           "IOC_REDIS__PREFIX": redis_prefix, "IOC_AUTH__SECRET": TEST_AUTH_SECRET,
           "IOC_FEEDS": '["parking"]', "IOC_INGEST__BATCH_ENTRIES": "2",
           "IOC_INGEST__BLOCK_MS": "100", "IOC_INGEST__CLAIM_IDLE_MS": "1000"}
    started = Workers(env, tmp_path / "workers.log")
    yield started
    started.stop_all()
