"""Shared fixtures: a real PostgreSQL database and a real Redis namespace per test run."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import psycopg
import psycopg.errors
import pytest
from redis import Redis as SyncRedis

from feeds.registry import FEEDS
from ioc.embedded import embedded_services
from ioc.storage.migrate import upgrade
from tests.clock import DAY
from tests.ioc.server import Server, running

# Every server and Settings a test makes runs the city at a pinned moment, never at the hour
# the suite happens to run; a test that needs another hour sets its own. Setting it before the
# run (`IOC_CLOCK__START=2026-11-23T02:30+07:00 make test`) runs the whole city at that hour.
os.environ.setdefault("IOC_CLOCK__START", DAY.isoformat())

PROJECT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT.parent / "shared" / "data"
MACHINE_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
MACHINE_REDIS = "redis://127.0.0.1:6379/0"
PUSH_KEYS = {feed: f"test-push-key-{feed}-0123456789" for feed in FEEDS}
PUSH_KEY = PUSH_KEYS["parking"]
# Tables that hold the schema's own bookkeeping, not what a test wrote.
KEPT_TABLES = ("schema_migrations",)


def instant_flash_rules(folder: Path, sources: set[str] | None = None) -> Path:
    """The pack's rules with a flash opening its situation at once (a test cannot wait the
    minute a real flash must last); rules of other `sources` than those given are disabled."""
    rules = orjson.loads((PROJECT / "packs" / "hanoi" / "rules.json").read_bytes())
    for rule in rules["rules"]:
        if rule["id"] == "signal-flash":
            rule["min_duration_s"] = 0
        if sources is not None:
            rule["enabled"] = rule["condition"]["source"] in sources
    path = folder / "rules.json"
    path.write_bytes(orjson.dumps(rules))
    return path


def _reachable(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def shared_file(relative: str) -> Path:
    """A file of ../shared/data, or a skip that names it."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"needs {path} (shared test data), which is missing")
    return path


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Admin URLs of the machine's PostgreSQL and Redis, or of embedded ones if unreachable."""
    admin = os.environ.get("IOC_TEST_ADMIN_DATABASE_URL", MACHINE_PG)
    redis = os.environ.get("IOC_TEST_REDIS_URL", MACHINE_REDIS)
    need_pg = "IOC_TEST_ADMIN_DATABASE_URL" not in os.environ and not _reachable(5432)
    need_redis = "IOC_TEST_REDIS_URL" not in os.environ and not _reachable(6379)
    if not (need_pg or need_redis):
        yield admin, redis
        return
    data = tmp_path_factory.mktemp("embedded")
    with embedded_services(data, postgres=need_pg, redis=need_redis,
                           pg_port=54339, redis_port=63799) as (pg_url, redis_url):
        yield (pg_url or admin), (redis_url or redis)


@pytest.fixture(scope="session")
def database_url(servers: tuple[str, str]) -> Iterator[str]:
    """A database made for this test run, migrated, and dropped at the end."""
    admin_url, _ = servers
    name = f"ioc_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    try:
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_tables(url: str) -> None:
    """Remove every row the tests wrote (the schema stays).

    A server under test may be writing at the same moment; TRUNCATE then waits for its
    locks and may be chosen as a deadlock victim, so it is retried.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' "
            "AND NOT tablename = ANY(%s)", (list(KEPT_TABLES),))]
        if not tables:
            return
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone():
            # Continuous aggregates keep their buckets until truncated themselves.
            tables += [row[0] for row in conn.execute(
                "SELECT quote_ident(view_name) FROM timescaledb_information.continuous_aggregates"
                " WHERE view_schema = 'public'")]
        for attempt in range(10):
            try:
                conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
                return
            except psycopg.errors.DeadlockDetected:
                if attempt == 9:
                    raise
                time.sleep(0.2)


def delete_keys(url: str, prefix: str) -> None:
    """Delete every Redis key under `prefix`."""
    client = SyncRedis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """The test database, migrated, emptied of what the test wrote when it ends."""
    await upgrade(database_url)
    yield database_url
    empty_tables(database_url)


@pytest.fixture
def redis_url(servers: tuple[str, str]) -> str:
    """The Redis server's URL."""
    return servers[1]


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    prefix = f"ioc-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    delete_keys(redis_url, prefix)


@pytest.fixture(scope="module")
def server(
    database_url: str, servers: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """`ioc run` in a child process for one test module; what it wrote is removed after."""
    keys = {f"test-{feed}": {"feed": feed, "sha256": hashlib.sha256(key.encode()).hexdigest()}
            for feed, key in PUSH_KEYS.items()}
    with serving(database_url, servers[1], tmp_path_factory.mktemp("server"),
                 {"IOC_PUSH_KEYS": orjson.dumps(keys).decode()}) as server:
        yield server


@contextmanager
def serving(database_url: str, redis_url: str, folder: Path, env: dict[str, str],
            rule_sources: set[str] | None = None) -> Iterator[Server]:
    """`ioc run` on the test database under a Redis prefix of its own, its flash situations
    opening at once; what it wrote is removed after."""
    prefix = f"ioc-test-server-{uuid.uuid4().hex[:10]}"
    full = {"IOC_DATABASE__URL": database_url, "IOC_REDIS__URL": redis_url,
            "IOC_REDIS__PREFIX": prefix,
            "IOC_SITUATIONS__RULES_FILE": str(instant_flash_rules(folder, rule_sources)),
            "IOC_SITUATIONS__TICK_S": "1", **env}
    try:
        with running(full, folder / "ioc.log") as server:
            yield server
    finally:
        empty_tables(database_url)
        delete_keys(redis_url, prefix)
