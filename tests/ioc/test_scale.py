"""Scale-safe start-up: schema changes once under a lock, writers with names of their own that
take over a dead one's entries, one situations engine at a time (a lease with failover), and
supervised worker tasks whose states are published for health."""

from __future__ import annotations

import asyncio
import signal
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import psycopg
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from feeds.clock import Clock
from ioc.bus import GROUP, RedisBus
from ioc.history.maintainer import Maintainer
from ioc.lease import Lease
from ioc.settings import DatabaseSettings, HistorySettings, RedisSettings, Settings
from ioc.situations.engine import GROUP as RULES_GROUP
from ioc.storage.migrate import migration_files, upgrade
from ioc.workers import process_name, run_workers
from tests.clock import DAY
from tests.ioc.fault_tools import Producer, stored, until
from tests.ioc.worker_processes import Workers

HOST = socket.gethostname()


@pytest.fixture
def fresh_database(servers: tuple[str, str]) -> Iterator[str]:
    """A database of its own, never migrated, dropped at the end."""
    admin = servers[0]
    name = f"ioc_test_fresh_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield psycopg.conninfo.make_conninfo(admin, dbname=name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_upgrades_started_together_all_succeed_and_change_the_schema_once(
    fresh_database: str,
) -> None:
    reports = await asyncio.gather(
        *(upgrade(fresh_database, True, HistorySettings()) for _ in range(4)))
    mode = reports[0].mode
    files = migration_files(mode)
    # One of them applied everything; the others waited for the lock and found nothing new.
    assert sorted(len(r.applied) for r in reports) == [0, 0, 0, len(files)]
    assert {r.mode for r in reports} == {mode}
    with psycopg.connect(fresh_database) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM schema_migrations")]
    assert sorted(names) == sorted(files)
    # Policies already as configured are left alone on a later start.
    again = await upgrade(fresh_database, True, HistorySettings())
    assert again.applied == [] and again.policies == []


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[tuple[Redis, Redis]]:
    """Two Redis connections, as two processes would have."""
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    yield first, second
    await first.aclose()
    await second.aclose()


class Judges:
    """Records which holders are judging, and the most that ever judged at once."""

    def __init__(self) -> None:
        self.active: set[str] = set()
        self.turns: list[str] = []
        self.most = 0

    def run(self, name: str) -> Callable[[asyncio.Event], Awaitable[None]]:
        async def judge(until: asyncio.Event) -> None:
            self.active.add(name)
            self.turns.append(name)
            self.most = max(self.most, len(self.active))
            try:
                await until.wait()
            finally:
                self.active.discard(name)
        return judge


async def test_one_holder_judges_and_a_standby_takes_over_when_it_stops(
    clients: tuple[Redis, Redis], redis_prefix: str
) -> None:
    key = f"{redis_prefix}:lease:situations"
    first, second = Lease(clients[0], key, "a", 3000), Lease(clients[1], key, "b", 3000)
    judges = Judges()
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    a = asyncio.create_task(first.run_while_held(stop_a, judges.run("a")))
    await until(lambda: judges.active)
    b = asyncio.create_task(second.run_while_held(stop_b, judges.run("b")))
    # Renewals go by with both running: the holder keeps the lease.
    holder = judges.turns[0]
    for _ in range(3):
        await asyncio.sleep(first.renew_every_s)
        assert judges.active == {holder}
    (stop_a if holder == "a" else stop_b).set()
    standby = "b" if holder == "a" else "a"
    await until(lambda: judges.active == {standby}, timeout=30)
    assert await first.holder() == standby
    stop_a.set()
    stop_b.set()
    await asyncio.gather(a, b)
    assert judges.most == 1
    assert judges.turns == [holder, standby]
    assert await first.holder() is None, "a holder that stops gives the lease up"


async def test_a_dead_holders_lease_expires_and_a_standby_takes_over(
    clients: tuple[Redis, Redis], redis_prefix: str
) -> None:
    key = f"{redis_prefix}:lease:situations"
    dead, standby = Lease(clients[0], key, "dead", 600), Lease(clients[1], key, "standby", 600)
    # A holder that took the lease and then stopped renewing it (its process was killed).
    assert await dead.acquire()
    judges = Judges()
    stop = asyncio.Event()
    task = asyncio.create_task(standby.run_while_held(stop, judges.run("standby")))
    await until(lambda: judges.active == {"standby"}, timeout=30)
    # Come back to life, the old holder can neither extend nor drop its successor's lease.
    assert not await dead.renew()
    assert not await dead.release()
    assert await standby.holder() == "standby"
    stop.set()
    await task


async def test_a_judge_that_raises_gives_the_lease_up(
    clients: tuple[Redis, Redis], redis_prefix: str
) -> None:
    lease = Lease(clients[0], f"{redis_prefix}:lease:situations", "a", 600)

    async def broken(until: asyncio.Event) -> None:
        raise RuntimeError("a rule blew up")

    with pytest.raises(RuntimeError, match="a rule blew up"):
        await lease.run_while_held(asyncio.Event(), broken)
    assert await lease.holder() is None


def _restarts(task: str) -> float:
    return REGISTRY.get_sample_value("ioc_task_restarts_total", {"task": task}) or 0.0


async def test_a_worker_task_that_raises_is_restarted_counted_and_reported(
    db: str, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The roll-up maintainer fails once with an error nothing in it expects.
    original = Maintainer.run_once
    failures = [RuntimeError("a roll-up pass blew up")]

    async def fails_once(self: Maintainer, now: Any = None) -> Any:
        if failures:
            raise failures.pop()
        return await original(self, now)

    monkeypatch.setattr(Maintainer, "run_once", fails_once)
    settings = Settings(
        database=DatabaseSettings(url=db),
        redis=RedisSettings(url=redis_url, prefix=redis_prefix),
        feeds=["parking"],
    )
    bus = RedisBus(Redis.from_url(redis_url), redis_prefix)
    before = _restarts("rollups")
    stop = asyncio.Event()
    worker = asyncio.create_task(run_workers(settings, stop, feeds=False,
                                             clock=Clock.pinned(DAY)))
    try:
        async def reported() -> dict[str, dict[str, Any]]:
            reports = await bus.task_reports()
            return {t["name"]: t for t in reports.get(process_name(), [])}

        async def rollups_restarted() -> None:
            while True:
                tasks = await reported()
                rollups = tasks.get("rollups")
                if rollups and rollups["restarts"] == 1 and rollups["state"] == "running":
                    return
                await asyncio.sleep(0.25)

        await asyncio.wait_for(rollups_restarted(), timeout=60)
        tasks = await reported()
        assert tasks["rollups"]["last_error"] == "RuntimeError: a roll-up pass blew up"
        assert {n: t["state"] for n, t in tasks.items()} == {
            "writer": "running", "rollups": "running", "situations": "running",
            "report": "running"}
        assert _restarts("rollups") == before + 1
        # Nothing else stopped: the writer still stores what is published.
        producer = Producer(bus, batch=50)
        await producer.push(2)
        await until(lambda: stored(db)[0] >= producer.accepted)
        assert not worker.done()
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=60)
        remaining = await bus.task_reports()
        await bus.redis.aclose()
    assert process_name() not in remaining, "a worker that stops cleanly withdraws its report"


async def _consumers(redis: Redis, stream: str, group: str) -> dict[str, int]:
    """Consumers of a group on a stream, with their pending entries (none: no group yet)."""
    try:
        rows: Any = await redis.xinfo_consumers(stream, group)
    except Exception:  # noqa: BLE001 - the group or the stream does not exist yet
        return {}
    return {_text(r["name"]): int(r["pending"]) for r in rows}


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def test_two_workers_one_killed_lose_nothing_store_nothing_twice_and_fail_over(
    db: str, redis_url: str, redis_prefix: str, workers: Workers
) -> None:
    redis = Redis.from_url(redis_url)
    bus = RedisBus(redis, redis_prefix)
    stream = bus.stream("parking")
    lease = Lease(redis, f"{redis_prefix}:lease:situations", "test-observer")
    producer = Producer(bus, batch=500)
    try:
        processes = {p.pid: p for p in (workers.start(), workers.start())}
        names = {pid: f"writer-{HOST}-{pid}" for pid in processes}
        await producer.push(2)
        # Both writers take part in the one group, each under a name of its own.
        await until(lambda: stored(db)[0] > 0, timeout=90)

        async def both_reading() -> None:
            while set(names.values()) - set(await _consumers(redis, stream, GROUP)):
                await producer.push(1)
                await asyncio.sleep(0.25)

        await asyncio.wait_for(both_reading(), timeout=90)

        # One engine judges: the lease holder's consumer is the only one of the rules group.
        async def holder() -> str:
            while (token := await lease.holder()) is None:
                await asyncio.sleep(0.25)
            return token

        judge = await asyncio.wait_for(holder(), timeout=60)
        victim = next(pid for pid in processes if judge == f"rules-{HOST}-{pid}")
        survivor = next(pid for pid in processes if pid != victim)
        rules = await _consumers(redis, stream, RULES_GROUP)
        assert set(rules) <= {judge}

        # Kill the judge while it holds entries it read and has not acknowledged: frozen
        # first, so that what it holds is known, then killed.
        process = processes[victim]
        for _ in range(400):
            await producer.push(2)
            process.send_signal(signal.SIGSTOP)
            if (await _consumers(redis, stream, GROUP)).get(names[victim], 0) > 0:
                break
            process.send_signal(signal.SIGCONT)
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the writer never held unacknowledged entries")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        await producer.push(4)

        # The other writer, running all along, claims what the dead one held.
        await until(lambda: stored(db)[1] >= producer.accepted, timeout=120)

        async def settled() -> None:
            while (await redis.xpending(stream, GROUP))["pending"]:
                await asyncio.sleep(0.25)

        await asyncio.wait_for(settled(), timeout=60)
        # And its engine takes the lease over, and judges from the rules group.
        successor = f"rules-{HOST}-{survivor}"
        await asyncio.wait_for(_until_holder(lease, successor), timeout=90)
        await asyncio.wait_for(_until_consumer(redis, stream, successor), timeout=60)
        assert processes[survivor].poll() is None
    finally:
        await redis.aclose()
    rows, distinct = stored(db)
    assert distinct == producer.accepted, "nothing the bus accepted is lost"
    assert rows == distinct, "nothing is stored twice"


async def _until_holder(lease: Lease, token: str) -> None:
    while await lease.holder() != token:
        await asyncio.sleep(0.25)


async def _until_consumer(redis: Redis, stream: str, name: str) -> None:
    while name not in await _consumers(redis, stream, RULES_GROUP):
        await asyncio.sleep(0.25)
