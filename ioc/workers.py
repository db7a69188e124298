"""The worker role: the writer, the maintainer, the situations engine and the feed runners,
each a supervised task, with the process's own connections.

Several workers may run side by side: they share the writers' consumer group (a dead one's
pending entries are claimed by the others), and a lease in Redis lets one situations engine
judge at a time, a standby taking over when its holder dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import redis.exceptions
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from feeds.clock import Clock
from feeds.registry import build_feed, build_parser, simulator_for
from feeds.runner import FeedRunner
from feeds.sources import http_poll, mqtt_listen
from geo import AreaIndex, CityPack, load_pack
from ioc.bus import RedisBus
from ioc.control import listen_for_faults
from ioc.history.maintainer import Maintainer
from ioc.history.rollups import queue_targets
from ioc.lease import Lease
from ioc.settings import Settings, SourceSettings, instance_name
from ioc.situations.engine import GROUP as RULES_GROUP
from ioc.situations.setup import situation_engine
from ioc.storage.migrate import upgrade
from ioc.storage.pool import open_pool
from ioc.supervise import Supervisor
from ioc.writer import Writer

logger = logging.getLogger(__name__)

Run = Callable[[], Awaitable[None]]
REPORT_EVERY_S = 5.0
# A report outlives a few missed beats, then vanishes with a dead process.
REPORT_TTL_S = 15
# After `stop`, how long tasks may take to finish what they hold before being cancelled.
GRACE_S = 10.0


def process_name() -> str:
    """This worker's name in task reports and logs: `worker-<host>-<pid>`."""
    return f"worker-{instance_name()}"


def engine_lease(redis: Redis, settings: Settings) -> Lease:
    """The lease that lets one situations engine judge at a time, held in its consumer's name."""
    return Lease(redis, f"{settings.redis.prefix}:lease:situations", settings.situations.consumer)


def _feed_run(
    settings: Settings, name: str, pack: CityPack, bus: RedisBus, index: AreaIndex,
    stop: asyncio.Event, simulators: dict[str, object], clock: Clock,
) -> Run:
    """The loop that drives one feed from its configured source (built once, so that a
    restart keeps the simulator and its injected faults)."""
    source = settings.sources.get(name, SourceSettings())
    if source.kind == "http":
        if source.url is None:
            raise ValueError(f"feed {name}: an http source needs a url")
        feed = build_feed(name, pack, http_poll(source.url), source.interval_s, settings.card_key)
        runner = FeedRunner(feed, bus, index.assign, clock=clock)
        return lambda: runner.run(stop)
    if source.kind == "mqtt":
        listener = FeedRunner(build_parser(name, pack, settings.card_key), bus, index.assign,
                              clock=clock)
        url, topic = source.url or settings.mqtt_url, source.topic or f"ioc/{name}"
        return lambda: mqtt_listen(listener, url, topic, stop)
    simulated, simulators[name] = simulator_for(name, pack, clock)
    feed = build_feed(name, pack, simulated, source.interval_s, settings.card_key)
    simulation = FeedRunner(feed, bus, index.assign, clock=clock)
    return lambda: simulation.run(stop)


def _judge(
    settings: Settings, pool: AsyncConnectionPool, bus: RedisBus, pack: CityPack,
    index: AreaIndex, clock: Clock,
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """The situations engine's run while this worker holds the lease."""
    consumer = settings.situations.consumer
    streams = [bus.stream(f) for f in settings.feeds]

    async def judge(until: asyncio.Event) -> None:
        # The previous holder has stopped judging (its lease is gone): whatever it read and
        # did not acknowledge is ours at once, however recently it was read.
        claimed = await bus.claim_abandoned(consumer, streams, 0, RULES_GROUP)
        if claimed:
            logger.info("situations engine %s took over %d entries", consumer, claimed)
        # A fresh engine per turn: its conditions are reloaded from what is stored.
        engine = situation_engine(settings, pool, bus, pack, index, clock)
        await engine.run(until)

    return judge


async def _report(bus: RedisBus, supervisor: Supervisor, process: str,
                  stop: asyncio.Event) -> None:
    """Publish the supervised tasks' states every few seconds, for health."""
    unreachable = False
    while not stop.is_set():
        try:
            await bus.report_tasks(process, list(supervisor.tasks.values()), REPORT_TTL_S)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as err:
            if not unreachable:
                logger.warning("task report of %s not published: %s", process, err)
            unreachable = True
        else:
            unreachable = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REPORT_EVERY_S)


async def run_workers(
    settings: Settings, stop: asyncio.Event, *, feeds: bool = True, writer: bool = True,
    clock: Clock | None = None,
) -> None:
    """Run the writer and/or every enabled feed until `stop` is set, on the process's clock
    (one is built from the settings when none is given)."""
    if settings.database.url is None or settings.redis.url is None:
        raise ValueError("workers need database and Redis URLs")
    pack = load_pack(settings.city_pack)
    city_clock = clock or settings.clock.build()
    index = AreaIndex(pack.layer(pack.default_layer))
    client = Redis.from_url(settings.redis.url)
    bus = RedisBus(client, settings.redis.prefix)
    process = process_name()
    supervisor = Supervisor(stop)
    pool = None
    try:
        if writer:
            report = await upgrade(settings.database.url,
                                   settings.database.timescaledb == "auto", settings.history)
            pool = await open_pool(settings.database.url, 1, 4)
            ingest = settings.ingest
            store = Writer(pool, bus, settings.feeds, ingest.consumer, ingest.batch_entries,
                           ingest.block_ms, ingest.claim_idle_ms)
            supervisor.spawn("writer", lambda: store.run(stop))
            # Roll-ups kept as tables (all of them without TimescaleDB), and retention.
            maintainer = Maintainer(pool, settings.history, queue_targets(pack), report.mode,
                                    city_clock)
            supervisor.spawn("rollups", lambda: maintainer.run(stop))
            if settings.situations.enabled:
                lease = engine_lease(client, settings)
                judge = _judge(settings, pool, bus, pack, index, city_clock)
                supervisor.spawn("situations", lambda: lease.run_while_held(stop, judge))
        if feeds:
            simulators: dict[str, object] = {}
            for name in settings.feeds:
                run = _feed_run(settings, name, pack, bus, index, stop, simulators, city_clock)
                supervisor.spawn(f"feed-{name}", run)
            if simulators:
                supervisor.spawn("faults", lambda: listen_for_faults(bus, simulators, stop,
                                                                     city_clock))
        supervisor.spawn("report", lambda: _report(bus, supervisor, process, stop))
        logger.info("%s running: %s", process, ", ".join(supervisor.tasks))
        await stop.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(supervisor.wait(), GRACE_S)
    finally:
        await supervisor.cancel()
        with contextlib.suppress(redis.exceptions.RedisError, OSError, TimeoutError):
            await asyncio.wait_for(bus.forget_tasks(process), REPORT_EVERY_S)
        await client.aclose()
        if pool is not None:
            await pool.close()
