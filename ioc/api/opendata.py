"""Open data over HTTP, without sign-in: district KPIs now, hourly roll-ups by district, and
the data dictionary. Every answer carries the licence, is rate-limited per client address
(counted in Redis, so the limit holds across API processes) and cached briefly per process,
with Cache-Control and an ETag so a client or proxy may revalidate cheaply.

The client address is the connection's peer: behind a reverse proxy, run uvicorn with
--proxy-headers and the proxy's address in --forwarded-allow-ips so that it is the caller's.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response
from redis.exceptions import RedisError

from ioc.api.deps import State
from ioc.history.opendata import dictionary, district_hourly, districts_now
from ioc.history.rollups import ROLLUPS, ceil, floor
from ioc.kpis import area_kpis
from ioc.ratelimit import RateLimiter
from ioc.state import AppState

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/open/v1", tags=["open data"])

MAX_RANGE = timedelta(days=31)
WINDOW_S = 60.0
CACHE_ENTRIES = 512
Start = Annotated[datetime | None, Query(description="first hour (default: 24 hours before end)")]
End = Annotated[datetime | None, Query(description="end, exclusive (default: the next hour)")]


def _cache(request: Request) -> dict[str, tuple[float, bytes, str]]:
    cache: dict[str, tuple[float, bytes, str]] | None = getattr(
        request.app.state, "open_data_cache", None)
    if cache is None:
        cache = request.app.state.open_data_cache = {}
    return cache


async def _allowed(state: AppState, request: Request) -> None:
    """Refuse (429) a client address over its allowance; let requests through if Redis is
    unreachable, as the other limits do."""
    ip = request.client.host if request.client else "unknown"
    limiter = RateLimiter(state.bus.redis, state.settings.redis.prefix)
    try:
        decision = await limiter.hit(f"open:ip:{ip}", state.settings.history.open_data_per_minute,
                                     WINDOW_S)
    except RedisError:
        logger.warning("open-data rate limit not counted: Redis unreachable")
        return
    if not decision.allowed:
        raise HTTPException(429, "too many requests; try again later",
                            headers={"Retry-After": str(max(1, round(decision.retry_after_s)))})


async def _answer(state: AppState, request: Request,
                  build: Callable[[], Awaitable[Any]]) -> Response:
    """The licensed, cached JSON answer of `build`, or 304 when the client has it already."""
    await _allowed(state, request)
    settings = state.settings.history
    key = f"{request.url.path}?{sorted(request.query_params.multi_items())}"
    cache = _cache(request)
    hit = cache.get(key)
    if hit is None or hit[0] < time.monotonic():
        body = orjson.dumps({
            "licence": {"id": settings.licence, "url": settings.licence_url,
                        "attribution": settings.attribution},
            "generated_at": state.clock.now().isoformat(),
            "dictionary": f"{router.prefix}/dictionary",
            "data": await build(),
        })
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        hit = (time.monotonic() + settings.open_data_cache_s, body, etag)
        if len(cache) >= CACHE_ENTRIES:  # bounded: arbitrary query strings make new keys
            now = time.monotonic()
            for stale in [k for k, (expires, _, _) in cache.items() if expires < now]:
                del cache[stale]
            if len(cache) >= CACHE_ENTRIES:
                cache.clear()
        cache[key] = hit
    _, body, etag = hit
    headers = {"Cache-Control": f"public, max-age={int(settings.open_data_cache_s)}",
               "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/dictionary")
async def data_dictionary(state: State, request: Request) -> Response:
    """Every field of the open data, with its unit and meaning."""
    async def build() -> Any:
        return dictionary()
    return await _answer(state, request, build)


@router.get("/districts")
async def districts(state: State, request: Request) -> Response:
    """Every district's KPIs now and its health score."""
    async def build() -> Any:
        async with state.pool.connection() as conn:
            kpis = await area_kpis(conn, state.pack, state.pack.default_layer, state.index,
                                   state.clock.now())
        return districts_now(state.layer, kpis)
    return await _answer(state, request, build)


@router.get("/hourly/{feed}")
async def hourly(state: State, request: Request, feed: str, start: Start = None,
                 end: End = None, district: str | None = None) -> Response:
    """A feed's KPIs per district and hour over [start, end), at most 31 days."""
    rollup = ROLLUPS.get(feed)
    if rollup is None:
        raise HTTPException(404, f"no open data for {feed!r}; there is {', '.join(ROLLUPS)}")
    if (start is not None and start.tzinfo is None) or (end is not None and end.tzinfo is None):
        raise HTTPException(422, "start and end need a time zone")
    end = ceil(end or state.clock.now(), "1h")
    start = floor(start or end - timedelta(days=1), "1h")
    if not start < end or end - start > MAX_RANGE:
        raise HTTPException(422, f"the range must be positive and at most {MAX_RANGE.days} days")

    async def build() -> Any:
        async with state.pool.connection() as conn:
            return await district_hourly(conn, rollup, start, end, district)
    return await _answer(state, request, build)
