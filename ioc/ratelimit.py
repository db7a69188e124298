"""A Redis-backed rate limiter shared by every API process: fixed windows counted in Redis."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from redis.asyncio import Redis

# One INCR per hit; the window's key expires with the window, so nothing needs sweeping.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {count, redis.call('PTTL', KEYS[1])}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a hit is allowed, and how long to wait (seconds) when it is not."""

    allowed: bool
    count: int
    retry_after_s: float


def bucket_id(secret: str) -> str:
    """A bucket name for a secret (an API key) that does not reveal it in Redis."""
    return hashlib.sha256(secret.encode()).hexdigest()[:32]


class RateLimiter:
    """Counts hits per bucket in fixed windows of `window_s` seconds, across processes."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._prefix = prefix
        self._hit = redis.register_script(_HIT)

    async def hit(self, bucket: str, limit: int, window_s: float) -> Decision:
        """Count one hit on `bucket`; refuse it when the window already holds `limit` hits."""
        window_ms = max(1, round(window_s * 1000))
        window = int(time.time() * 1000) // window_ms
        key = f"{self._prefix}:ratelimit:{bucket}:{window}"
        count, ttl_ms = await self._hit(keys=[key], args=[window_ms])
        allowed = int(count) <= limit
        return Decision(allowed, int(count), 0.0 if allowed else max(int(ttl_ms), 1) / 1000)
