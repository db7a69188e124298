"""`ioc import`: a file read through a feed's own parser onto the bus, then committed."""

from __future__ import annotations

import asyncio
import collections
import os
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis

from feeds.base import FeedError, reason_kind
from feeds.files import apply_mapping, read_records, replay_plan, to_payload
from feeds.registry import build_parser
from feeds.runner import FeedRunner
from feeds.transit.gtfs_static import load_gtfs
from geo import AreaIndex, load_pack
from ioc.bus import RedisBus
from ioc.settings import Settings
from ioc.storage.migrate import upgrade
from ioc.storage.pool import open_pool
from ioc.writer import Writer


@dataclass(slots=True)
class ImportReport:
    """What an import accepted and refused, with the refusals counted by reason."""

    accepted: int = 0
    rejected: int = 0
    reasons: collections.Counter[str] = field(default_factory=collections.Counter)
    summary: str = ""


async def _stream(runner: FeedRunner, feed: str, path: Path, mapping: dict[str, str],
                  speed: float | None, report: ImportReport) -> None:
    if path.suffix.lower() == ".pb":
        plan = [(0.0, path.read_bytes())]
    else:
        records = apply_mapping(read_records(path), mapping)
        plan = [(wait, to_payload(feed, chunk)) for wait, chunk in
                replay_plan(feed, records, speed)]
    for wait, payload in plan:
        if wait:
            await asyncio.sleep(wait)
        parsed = await runner.ingest(payload)
        report.accepted += len(parsed.observations)
        report.rejected += len(parsed.rejected)
        report.reasons.update(reason_kind(r.reason) for r in parsed.rejected)


def check_gtfs(path: Path) -> ImportReport:
    """Read a GTFS static zip or folder and report what it holds and which rows it refused.

    The timetable is city data: a valid feed goes into the city pack (`gtfs` in pack.json)
    rather than into the database.
    """
    feed = load_gtfs(path)
    stop_times = sum(len(times) for times in feed.stop_times.values())
    report = ImportReport(
        accepted=len(feed.stops) + len(feed.routes) + len(feed.trips) + stop_times,
        rejected=len(feed.rejected),
        summary=f"{len(feed.stops)} stops, {len(feed.routes)} routes, {len(feed.trips)} trips, "
                f"{stop_times} stop times",
    )
    report.reasons.update(reason_kind(r.reason) for r in feed.rejected)
    return report


async def import_file(
    settings: Settings, feed: str, path: Path, mapping: dict[str, str],
    speed: float | None = None, store: bool = True,
) -> ImportReport:
    """Import (or, with `speed`, replay) a file as feed `feed`; wait until it is committed."""
    if not path.exists():
        raise FeedError(f"no such file: {path}")
    pack = load_pack(settings.city_pack)
    index = AreaIndex(pack.layer(pack.default_layer))
    redis = Redis.from_url(str(settings.redis.url))
    bus = RedisBus(redis, settings.redis.prefix)
    report = ImportReport()
    try:
        runner = FeedRunner(build_parser(feed, pack, settings.card_key), bus, index.assign,
                            clock=settings.clock.build())
        await _stream(runner, feed, path, mapping, speed, report)
        if store:
            await _commit(settings, bus, feed)
    finally:
        await redis.aclose()
    return report


async def _commit(settings: Settings, bus: RedisBus, feed: str) -> None:
    """Write until nothing of the feed is outstanding (sharing the work with running writers)."""
    await upgrade(str(settings.database.url), settings.database.timescaledb == "auto")
    pool = await open_pool(str(settings.database.url), 1, 2)
    try:
        writer = Writer(pool, bus, [feed], consumer=f"import-{os.getpid()}", block_ms=200)
        await writer.start()
        while await bus.outstanding(feed):
            await writer.step()
    finally:
        await pool.close()
