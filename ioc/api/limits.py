"""Rate limits on routes an outsider can hammer: sign-in per address, ingest per key and address.

Counted in Redis (ioc.ratelimit), so the limits hold across every API process. When Redis
cannot be reached the request goes through: the sign-in and ingest routes fail on their own
without Redis, and refusing everybody during an outage would lock the operators out.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from ioc.ratelimit import RateLimiter, bucket_id
from ioc.settings import SecuritySettings

logger = logging.getLogger(__name__)

AUTH_PREFIX = "/api/auth/"
INGEST_PREFIX = "/api/ingest/"
WINDOW_S = 60.0


@dataclass(frozen=True, slots=True)
class Limit:
    """One counted bucket and its allowance per window."""

    bucket: str
    per_window: int


def limits_for(
    method: str, path: str, client_ip: str, api_key: str | None, settings: SecuritySettings
) -> list[Limit]:
    """The buckets a request counts against (none for routes without a limit)."""
    if method != "POST":
        return []
    if path.startswith(AUTH_PREFIX):
        return [Limit(f"auth:ip:{client_ip}", settings.login_per_minute)]
    if path.startswith(INGEST_PREFIX):
        limits = [Limit(f"ingest:ip:{client_ip}", settings.ingest_per_minute_per_ip)]
        if api_key:
            limits.append(Limit(f"ingest:key:{bucket_id(api_key)}",
                                settings.ingest_per_minute_per_key))
        return limits
    return []


class RateLimits:
    """ASGI middleware refusing requests over their limits with 429 and Retry-After."""

    def __init__(self, app: ASGIApp, settings: SecuritySettings, prefix: str) -> None:
        self.app = app
        self.settings = settings
        self.prefix = prefix
        self._limiter: RateLimiter | None = None

    def _limiter_for(self, scope: Scope) -> RateLimiter | None:
        state = getattr(scope["app"].state, "ioc", None) if "app" in scope else None
        if state is None:
            return None
        if self._limiter is None:
            self._limiter = RateLimiter(state.bus.redis, self.prefix)
        return self._limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(b"x-api-key")
        client = scope.get("client")
        limits = limits_for(scope["method"], scope["path"], client[0] if client else "unknown",
                            key.decode("latin-1") if key else None, self.settings)
        limiter = self._limiter_for(scope) if limits else None
        if limiter is not None:
            for limit in limits:
                try:
                    decision = await limiter.hit(limit.bucket, limit.per_window, WINDOW_S)
                except Exception as err:  # noqa: BLE001 - fail open; see the module docstring
                    logger.warning("rate limit not applied (Redis unavailable): %s", err)
                    break
                if not decision.allowed:
                    await _too_many(send, decision.retry_after_s)
                    return
        await self.app(scope, receive, send)


async def _too_many(send: Send, retry_after_s: float) -> None:
    body = orjson.dumps({"detail": "too many requests; slow down"})
    await send({"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(math.ceil(retry_after_s)).encode()),
    ]})
    await send({"type": "http.response.body", "body": body})
