"""The FastAPI application: lifespan resources, routes, and the dashboard's static files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis

from feeds.clock import Clock
from feeds.registry import build_parser
from feeds.runner import FeedRunner
from geo import load_pack
from ioc.api import (
    admin,
    areas,
    auth,
    city,
    export,
    faults,
    health,
    history,
    ingest,
    live,
    measures,
    metrics,
    opendata,
    parking,
    situations,
    timemachine,
)
from ioc.api.openapi import describe_errors
from ioc.api.security import protect
from ioc.auth.oidc import OidcVerifier
from ioc.auth.users import ensure_first_users
from ioc.bus import RedisBus
from ioc.layers import LayerSet
from ioc.live.hub import build_hub
from ioc.settings import Settings
from ioc.state import AppState
from ioc.storage.migrate import upgrade
from ioc.storage.pool import open_pool

_NO_FRONTEND = """<!doctype html><meta charset="utf-8"><title>Hanoi IOC</title>
<p>The dashboard has not been built. Run <code>make run</code> (it builds it), or
<code>cd frontend && npm ci && npm run build</code>. The API is at <a href="/docs">/docs</a>.</p>"""


class ConfigurationError(RuntimeError):
    """The settings lack something this process needs."""


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    """Build the API application for `settings` (URLs must be resolved by the caller), on the
    process's clock (one is built from the settings when none is given)."""
    if settings.database.url is None or settings.redis.url is None:
        raise ConfigurationError("create_app needs database and Redis URLs")
    database_url, redis_url = settings.database.url, settings.redis.url

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pack = load_pack(settings.city_pack)
        city_clock = clock or settings.clock.build()
        layer = pack.layer(pack.default_layer)
        report = await upgrade(database_url, settings.database.timescaledb == "auto")
        pool = await open_pool(database_url, settings.database.pool_min, settings.database.pool_max)
        redis = Redis.from_url(redis_url)
        bus = RedisBus(redis, settings.redis.prefix)
        layer_set = LayerSet(pack)
        hub = build_hub(bus, pool, pack, layer_set, settings.live, city_clock)
        await hub.start()
        index = layer_set.get(pack.default_layer)[1]
        # Pushed batches go through the same parse, geo-tag and publish path as polled ones.
        runners = {
            name: FeedRunner(build_parser(name, pack, settings.card_key), bus, index.assign,
                              clock=city_clock)
            for name in settings.feeds
        }
        app.state.ioc = AppState(
            settings=settings, pack=pack, layer=layer, index=index,
            pool=pool, bus=bus, hub=hub, mode=report.mode, runners=runners,
            layers=layer_set,
            oidc=OidcVerifier(settings.auth.oidc) if settings.auth.oidc else None,
            clock=city_clock,
        )
        await ensure_first_users(pool, settings)
        try:
            yield
        finally:
            await hub.stop()
            await redis.aclose()
            await pool.close()

    app = FastAPI(
        title="Hanoi Intelligent Operations Centre",
        version="0.1.0",
        description="City feeds (signals, BRT, parking, public-service queues) on a live wall.",
        lifespan=lifespan,
    )
    protect(app, settings)
    describe_errors(app)
    for module in (health, metrics, auth, admin, city, areas, parking, measures, ingest, faults,
                   situations, history, opendata, timemachine, export, live):
        app.include_router(module.router)
    if (settings.frontend_dist / "index.html").exists():
        app.mount("/", StaticFiles(directory=settings.frontend_dist, html=True), name="dashboard")
    else:
        @app.get("/", include_in_schema=False)
        async def no_dashboard() -> HTMLResponse:
            return HTMLResponse(_NO_FRONTEND)
    return app
