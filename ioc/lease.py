"""A lease in Redis: one holder at a time among processes, renewed while the holder lives,
released when it stops, and taken over by a standby once it expires.

The holder's token is stored under the key (SET NX PX); renewing and releasing check the
token in a script, so a holder whose lease expired never extends or deletes its successor's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import redis.exceptions
from redis.asyncio import Redis

logger = logging.getLogger(__name__)

DEFAULT_TTL_MS = 15_000

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""
_UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class Lease:
    """The lease `key`, as seen by the holder `token`."""

    def __init__(self, redis: Redis, key: str, token: str, ttl_ms: int = DEFAULT_TTL_MS) -> None:
        if ttl_ms < 30:
            raise ValueError(f"a lease needs a time to live of 30 ms or more, got {ttl_ms}")
        self.key = key
        self.token = token
        self.ttl_ms = ttl_ms
        self._redis = redis
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._unreachable = False

    @property
    def renew_every_s(self) -> float:
        """How often the holder renews, and a standby asks: a third of the time to live."""
        return self.ttl_ms / 3000

    async def acquire(self) -> bool:
        """Take the lease if it is free (or already ours, then renewed); say whether we hold it."""
        if await self._redis.set(self.key, self.token, nx=True, px=self.ttl_ms):
            return True
        return await self.renew()

    async def renew(self) -> bool:
        """Extend the lease if we still hold it; say whether we do."""
        return bool(await self._renew(keys=[self.key], args=[self.token, self.ttl_ms]))

    async def release(self) -> bool:
        """Give the lease up if we hold it, so that a standby need not wait for it to expire;
        say whether we held it."""
        return bool(await self._release(keys=[self.key], args=[self.token]))

    async def holder(self) -> str | None:
        """The token of the current holder, if any."""
        value: bytes | str | None = await self._redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value

    async def run_while_held(
        self, stop: asyncio.Event, run: Callable[[asyncio.Event], Awaitable[None]]
    ) -> None:
        """Until `stop` is set, run `run(until)` whenever this process holds the lease.

        `until` is set when the lease is lost or `stop` is set, and `run` must then return
        soon. If `run` raises, the lease is released and the error passes to the caller.
        """
        while not stop.is_set():
            if await self._ask(self.acquire):
                logger.info("%s holds the lease %s", self.token, self.key)
                await self._hold(stop, run)
            # After a turn too: a lost lease, or a `run` that returned by itself, is not
            # retried in a tight loop.
            await _sleep_or_stop(stop, self.renew_every_s)

    async def _hold(
        self, stop: asyncio.Event, run: Callable[[asyncio.Event], Awaitable[None]]
    ) -> None:
        until = asyncio.Event()
        task = asyncio.ensure_future(run(until))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while True:
                done, _ = await asyncio.wait({task, stopping}, timeout=self.renew_every_s,
                                             return_when=asyncio.FIRST_COMPLETED)
                if done:
                    break
                if not await self._ask(self.renew):
                    # Another process may hold it by now: stop acting at once.
                    logger.warning("%s lost the lease %s", self.token, self.key)
                    break
            until.set()
            await task
        finally:
            until.set()
            stopping.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            await self._ask(self.release)

    async def _ask(self, command: Callable[[], Awaitable[bool]]) -> bool:
        # Redis out of reach: the lease cannot be known to be ours, so it is not.
        try:
            answer = await command()
        except _UNREACHABLE as err:
            if not self._unreachable:
                logger.warning("lease %s: Redis unreachable (%s)", self.key, err)
            self._unreachable = True
            return False
        if self._unreachable:
            logger.info("lease %s: Redis reachable again", self.key)
        self._unreachable = False
        return answer


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
