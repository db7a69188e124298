"""The worker role: the writer and the feed runners, with their own connections."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from redis.asyncio import Redis

from feeds.registry import build_feed, build_parser, simulator_for
from feeds.runner import FeedRunner
from feeds.sources import http_poll, mqtt_listen
from geo import AreaIndex, CityPack, load_pack
from ioc.bus import RedisBus
from ioc.control import listen_for_faults
from ioc.history.maintainer import Maintainer
from ioc.history.rollups import queue_targets
from ioc.settings import Settings, SourceSettings
from ioc.situations.setup import situation_engine
from ioc.storage.migrate import upgrade
from ioc.storage.pool import open_pool
from ioc.writer import Writer

logger = logging.getLogger(__name__)


def _feed_task(
    settings: Settings, name: str, pack: CityPack, bus: RedisBus, index: AreaIndex,
    stop: asyncio.Event, simulators: dict[str, object],
) -> Coroutine[Any, Any, None]:
    """The loop that drives one feed from its configured source."""
    source = settings.sources.get(name, SourceSettings())
    if source.kind == "http":
        if source.url is None:
            raise ValueError(f"feed {name}: an http source needs a url")
        feed = build_feed(name, pack, http_poll(source.url), source.interval_s, settings.card_key)
        return FeedRunner(feed, bus, index.assign).run(stop)
    if source.kind == "mqtt":
        runner = FeedRunner(build_parser(name, pack, settings.card_key), bus, index.assign)
        return mqtt_listen(
            runner, source.url or settings.mqtt_url, source.topic or f"ioc/{name}", stop
        )
    simulated, simulators[name] = simulator_for(name, pack)
    feed = build_feed(name, pack, simulated, source.interval_s, settings.card_key)
    return FeedRunner(feed, bus, index.assign).run(stop)


async def run_workers(
    settings: Settings, stop: asyncio.Event, *, feeds: bool = True, writer: bool = True
) -> None:
    """Run the writer and/or every enabled feed until `stop` is set."""
    if settings.database.url is None or settings.redis.url is None:
        raise ValueError("workers need database and Redis URLs")
    pack = load_pack(settings.city_pack)
    index = AreaIndex(pack.layer(pack.default_layer))
    redis = Redis.from_url(settings.redis.url)
    bus = RedisBus(redis, settings.redis.prefix)
    tasks: list[asyncio.Task[None]] = []
    pool = None
    try:
        if writer:
            report = await upgrade(settings.database.url,
                                   settings.database.timescaledb == "auto")
            pool = await open_pool(settings.database.url, 1, 4)
            ingest = settings.ingest
            tasks.append(asyncio.create_task(Writer(
                pool, bus, settings.feeds, ingest.consumer, ingest.batch_entries, ingest.block_ms,
            ).run(stop), name="writer"))
            # Roll-ups kept as tables (all of them without TimescaleDB), and retention.
            maintainer = Maintainer(pool, settings.history, queue_targets(pack), report.mode)
            tasks.append(asyncio.create_task(maintainer.run(stop), name="rollups"))
            if settings.situations.enabled:
                engine = situation_engine(settings, pool, bus, pack, index)
                tasks.append(asyncio.create_task(engine.run(stop), name="situations"))
        if feeds:
            simulators: dict[str, object] = {}
            for name in settings.feeds:
                loop = _feed_task(settings, name, pack, bus, index, stop, simulators)
                tasks.append(asyncio.create_task(loop, name=f"feed-{name}"))
            if simulators:
                tasks.append(asyncio.create_task(
                    listen_for_faults(bus, simulators, stop), name="faults"))
        logger.info("workers running: %s", ", ".join(t.get_name() for t in tasks))
        await asyncio.gather(*tasks)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await redis.aclose()
        if pool is not None:
            await pool.close()
