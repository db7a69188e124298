"""What the `ioc` command does once its arguments are read: serve, import, upgrade, inject.

Kept apart from ioc.cli so that `ioc health`, which a container runs every few seconds,
does not load the whole service.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import Iterator

import uvicorn
from redis.asyncio import Redis

from feeds.base import FeedError
from feeds.faults import FaultError, FaultRequest
from feeds.registry import UnknownFeed
from feeds.transit.gtfs_tables import GtfsError
from geo import LayerError, PackError
from geo.importer import import_layer
from ioc.app import create_app
from ioc.bus import RedisBus
from ioc.control import request_fault
from ioc.embedded import embedded_services
from ioc.embedded.processes import port_free
from ioc.importer import check_gtfs, import_file
from ioc.live.direct import LiveWebSocketProtocol
from ioc.settings import Settings
from ioc.storage.migrate import upgrade
from ioc.workers import run_workers

logger = logging.getLogger("ioc")


class _Server(uvicorn.Server):
    """Uvicorn without its own signal handling: the CLI stops every task together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.contextmanager
def _resolved(settings: Settings, with_redis: bool = True) -> Iterator[Settings]:
    """Yield settings with URLs, starting embedded servers for whatever is not configured."""
    need_pg = settings.database.url is None
    need_redis = with_redis and settings.redis.url is None
    if not (need_pg or need_redis):
        yield settings
        return
    embedded = settings.embedded
    if not port_free(embedded.pg_port) and not port_free(embedded.redis_port):
        # A running `ioc run` already serves its embedded servers: share them.
        yield settings.with_urls(
            f"postgresql://postgres@127.0.0.1:{embedded.pg_port}/ioc",
            f"redis://127.0.0.1:{embedded.redis_port}/0",
        )
        return
    embedded.data_dir.mkdir(parents=True, exist_ok=True)
    logger.info("starting embedded %s in %s",
                " and ".join(n for n, on in (("PostgreSQL", need_pg), ("Redis", need_redis)) if on),
                embedded.data_dir)
    with embedded_services(
        embedded.data_dir, postgres=need_pg, redis=need_redis,
        pg_port=embedded.pg_port, redis_port=embedded.redis_port,
    ) as (db_url, redis_url):
        yield settings.with_urls(db_url, redis_url)


async def _serve(settings: Settings, api: bool, feeds: bool, writer: bool) -> None:
    stop = asyncio.Event()
    # One clock for the process: the API and the workers must tell the same city time.
    clock = settings.clock.build()
    loop = asyncio.get_running_loop()
    tasks = []
    server = None
    if api:
        config = uvicorn.Config(
            create_app(settings, clock), host=settings.host, port=settings.port,
            log_level="info", ws=LiveWebSocketProtocol, lifespan="on",
            # The server's lines go through the process's logging, in its format.
            log_config=None,
            # Live frames are encoded once for many clients; per-client compression would
            # spend a zlib context (memory) and CPU per connection on every frame.
            ws_per_message_deflate=False,
        )
        server = _Server(config)
        tasks.append(asyncio.create_task(server.serve(), name="api"))
    if feeds or writer:
        tasks.append(asyncio.create_task(
            run_workers(settings, stop, feeds=feeds, writer=writer, clock=clock), name="workers"
        ))

    def shutdown() -> None:
        logger.info("stopping")
        stop.set()
        if server is not None:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shutdown)
    if server is not None:
        logger.info("dashboard on http://%s:%d/", settings.host, settings.port)
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    shutdown()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def _import(settings: Settings, args: argparse.Namespace) -> None:
    mapping: dict[str, str] = {}
    if args.mapping_file is not None:
        mapping.update(json.loads(args.mapping_file.read_text(encoding="utf-8")))
    for pair in args.map:
        ours, _, theirs = pair.partition("=")
        if not theirs:
            raise SystemExit(f"--map wants OURS=THEIRS, got {pair!r}")
        mapping[ours] = theirs
    if args.speed is not None and not 1 <= args.speed <= 3600:
        raise SystemExit("--speed must be between 1 and 3600")
    try:
        if args.feed == "gtfs":
            report = check_gtfs(args.file)
        else:
            report = asyncio.run(import_file(settings, args.feed, args.file, mapping, args.speed))
    except (FeedError, UnknownFeed, GtfsError) as err:
        raise SystemExit(f"import failed: {err}") from err
    print(f"{args.feed}: {report.accepted} accepted, {report.rejected} rejected"
          + (f" ({report.summary})" if report.summary else ""))
    for reason, count in report.reasons.most_common():
        print(f"  {count:>8}  {reason}")


def _layer(settings: Settings, args: argparse.Namespace) -> None:
    pack = settings.city_pack
    try:
        done = import_layer(
            args.file, pack, args.name, code_field=args.code_field, name_field=args.name_field,
            name_en_field=args.name_en_field, kind_field=args.kind_field,
            valid_from=args.valid_from, valid_to=args.valid_to,
        )
    except (LayerError, PackError) as err:
        raise SystemExit(f"layer import failed: {err}") from err
    print(f"{args.name}: {done.units} units written to {done.path}"
          + (f"; {len(done.repairs)} repaired: {'; '.join(done.repairs)}" if done.repairs else ""))


def _fault(settings: Settings, args: argparse.Namespace) -> None:
    request = FaultRequest(args.feed, args.kind, args.target, args.minutes, args.direction,
                           args.value)

    async def send() -> int:
        redis = Redis.from_url(str(settings.redis.url))
        try:
            return await request_fault(RedisBus(redis, settings.redis.prefix), request)
        finally:
            await redis.aclose()

    try:
        receivers = asyncio.run(send())
    except FaultError as err:
        raise SystemExit(f"fault refused: {err}") from err
    if receivers == 0:
        raise SystemExit("no worker is running a simulator to receive it")
    print(f"sent to {receivers} worker(s): {request.kind} on {request.feed}")


def run(base: Settings, args: argparse.Namespace) -> None:
    """Carry out the parsed command `args` (any but `health`)."""
    if args.command == "layer":
        _layer(base, args)
        return
    with _resolved(base, with_redis=args.command != "db") as settings:
        if args.command == "db":
            report = asyncio.run(
                upgrade(str(settings.database.url), settings.database.timescaledb == "auto",
                        settings.history)
            )
            print(f"mode: {report.mode}; applied: {', '.join(report.applied) or 'nothing new'}")
            return
        if args.command == "fault":
            _fault(settings, args)
            return
        if args.command == "import":
            _import(settings, args)
            return
        if args.command == "worker":
            roles = (False, not args.no_feeds, not args.no_writer)
        else:
            roles = (True, args.command == "run", args.command == "run")
        asyncio.run(_serve(settings, *roles))
