"""The Redis bus: durable observation streams, the dead-letter stream, health, live pub/sub."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from feeds.base import Observation, Rejected, reason_kind
from feeds.runner import FeedHealth
from ioc.supervise import TaskState

logger = logging.getLogger(__name__)

GROUP = "writers"
ENTRY_MAX = 1000
DEAD = "dead"

# INCR, append to the stream's capped log (entry id 0-<seq>, for resuming clients) and
# PUBLISH in one step, so that sequence numbers reach subscribers in order even with several
# writers publishing at once. A log left behind by a reset counter is dropped.
_PUBLISH_LIVE = """
local seq = redis.call('INCR', KEYS[1])
local id = '0-' .. seq
local added = redis.pcall('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], id, 'b', ARGV[2])
if type(added) == 'table' and added.err then
    redis.call('DEL', KEYS[3])
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], id, 'b', ARGV[2])
end
redis.call('PUBLISH', KEYS[2], ARGV[1] .. '|' .. seq .. '|' .. ARGV[2])
return seq
"""
LIVE_RETENTION = 10_000

# Counts add up; the newest source time only moves forward, whichever writer commits last.
_RECORD_COMMIT = """
redis.call('HINCRBY', KEYS[1], 'stored_total', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'duplicates_total', ARGV[3])
redis.call('INCRBY', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], 300)
local current = tonumber(redis.call('HGET', KEYS[1], 'last_observation_ms') or '0')
if tonumber(ARGV[1]) > current then
    redis.call('HSET', KEYS[1], 'last_observation_ms', ARGV[1])
end
"""


@dataclass(frozen=True, slots=True)
class Entry:
    """One bus entry handed to the writer: a batch of one feed, or of rejected records."""

    stream: str
    entry_id: str
    fields: dict[bytes, bytes]


@dataclass(frozen=True, slots=True)
class LiveMessage:
    """A live delta as it comes off pub/sub: stream name, sequence number, JSON body."""

    stream: str
    seq: int
    body: bytes


def parse_live(raw: bytes) -> LiveMessage:
    """Split a pub/sub message `stream|seq|json` (raises ValueError when malformed)."""
    stream, seq, body = raw.split(b"|", 2)
    return LiveMessage(stream.decode(), int(seq), body)


class RedisBus:
    """All Redis keys of one deployment, under one prefix."""

    def __init__(
        self, redis: Redis, prefix: str = "ioc", live_retention: int = LIVE_RETENTION
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.live_retention = live_retention
        self.live_channel = f"{prefix}:live"
        self._publish_live = redis.register_script(_PUBLISH_LIVE)
        self._record_commit = redis.register_script(_RECORD_COMMIT)

    def stream(self, name: str) -> str:
        """Key of a feed's observation stream (or of the dead-letter stream)."""
        return f"{self.prefix}:obs:{name}"

    def feed_of(self, stream: str) -> str:
        """Feed name of an observation stream key."""
        return stream.removeprefix(f"{self.prefix}:obs:")

    def _health_key(self, feed: str) -> str:
        return f"{self.prefix}:health:{feed}"

    async def publish(self, feed: str, observations: Sequence[Observation]) -> None:
        """Append observations to the feed's stream (accepted once this returns), and count
        them, and those outside every district, in the feed's health.

        Large batches are split so that no entry grows past ENTRY_MAX observations.
        """
        key = self.stream(feed)
        async with self.redis.pipeline(transaction=False) as pipe:
            for start in range(0, len(observations), ENTRY_MAX):
                chunk = observations[start : start + ENTRY_MAX]
                pipe.xadd(key, {"records": orjson.dumps([o.to_record() for o in chunk])})
            pipe.hincrby(self._health_key(feed), "accepted_total", len(observations))
            outside = sum(1 for o in observations if getattr(o, "district", None) is None)
            pipe.hincrby(self._health_key(feed), "outside_total", outside)
            await pipe.execute()

    async def reject(self, feed: str, rejected: Sequence[Rejected]) -> None:
        """Append rejected records to the dead-letter stream and count them."""
        records = orjson.dumps([{"reason": r.reason, "raw": r.raw} for r in rejected])
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.stream(DEAD), {"feed": feed, "records": records})
            pipe.hincrby(self._health_key(feed), "rejected_total", len(rejected))
            for kind, count in Counter(reason_kind(r.reason) for r in rejected).items():
                pipe.hincrby(f"{self.prefix}:rejects:{feed}", kind, count)
            await pipe.execute()

    async def report(self, feed: str, health: FeedHealth) -> None:
        """Record a runner's view of its source."""
        await self.redis.hset(
            self._health_key(feed),
            mapping={
                "last_success": health.last_success.isoformat() if health.last_success else "",
                "last_error": health.last_error or "",
                "consecutive_failures": health.consecutive_failures,
                "outside": health.outside,
                # A pushed feed has no polling runner: it keeps what a poller wrote, if any.
                **({"started": health.started.isoformat()} if health.started else {}),
            },
        )

    async def record_commit(
        self, feed: str, newest: datetime, stored: int, duplicates: int
    ) -> None:
        """Record what the writer committed for a feed (newest source time, counts)."""
        await self._record_commit(
            keys=[self._health_key(feed), self._rate_key(feed, int(time.time() // 60))],
            args=[round(newest.timestamp() * 1000), stored, duplicates],
        )

    def _rate_key(self, feed: str, minute: int) -> str:
        return f"{self.prefix}:rate:{feed}:{minute}"

    async def rate(self, feed: str) -> float:
        """Rows stored per second over the last complete minute."""
        value = await self.redis.get(self._rate_key(feed, int(time.time() // 60) - 1))
        return int(value or 0) / 60

    async def rejects_by_reason(self, feed: str) -> dict[str, int]:
        """Rejected records of a feed, counted by kind of reason."""
        raw: Any = await self.redis.hgetall(f"{self.prefix}:rejects:{feed}")
        return {k.decode(): int(v) for k, v in raw.items()}

    async def health(self, feed: str) -> dict[str, str]:
        """Everything recorded about a feed, as strings."""
        raw: Any = await self.redis.hgetall(self._health_key(feed))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def report_tasks(self, process: str, tasks: Sequence[TaskState], ttl_s: int) -> None:
        """Record a process's supervised tasks; the report expires if the process dies."""
        key = f"{self.prefix}:tasks:{process}"
        body = orjson.dumps([asdict(t) for t in tasks])
        await self.redis.set(key, body, ex=ttl_s)

    async def forget_tasks(self, process: str) -> None:
        """Drop a process's task report (it stopped cleanly: nothing of it runs any more)."""
        await self.redis.delete(f"{self.prefix}:tasks:{process}")

    async def task_reports(self) -> dict[str, list[dict[str, Any]]]:
        """The supervised tasks of every live process, by process name."""
        reports: dict[str, list[dict[str, Any]]] = {}
        start = len(self.prefix) + len(":tasks:")
        async for key in self.redis.scan_iter(match=f"{self.prefix}:tasks:*", count=200):
            body = await self.redis.get(key)
            if body is not None:
                reports[_text(key)[start:]] = orjson.loads(body)
        return reports

    async def ensure_groups(
        self, feeds: Sequence[str], group: str = GROUP, dead: bool = True
    ) -> list[str]:
        """Create a consumer group (the writers' by default) on every feed's stream, and on
        the dead-letter stream unless `dead` is false; return the stream keys."""
        keys = [self.stream(f) for f in [*feeds, *([DEAD] if dead else [])]]
        for key in keys:
            try:
                await self.redis.xgroup_create(key, group, id="0", mkstream=True)
            except ResponseError as err:
                if "BUSYGROUP" not in str(err):
                    raise
        return keys

    async def read(
        self, consumer: str, keys: Sequence[str], count: int, block_ms: int, pending: bool,
        group: str = GROUP,
    ) -> list[Entry]:
        """Read entries for `consumer`: its own unacknowledged ones first, or new ones."""
        start = "0" if pending else ">"
        reply: Any = await self.redis.xreadgroup(
            group, consumer, dict.fromkeys(keys, start), count=count,
            block=None if pending else block_ms,
        )
        return [
            Entry(stream.decode(), entry_id.decode(), fields)
            for stream, entries in reply or []
            for entry_id, fields in entries
            if fields  # an entry deleted while pending comes back empty
        ]

    async def claim_abandoned(
        self, consumer: str, keys: Sequence[str], idle_ms: int, group: str = GROUP
    ) -> int:
        """Take over entries that another consumer of the group read and has left
        unacknowledged for `idle_ms` or more; return how many. Streams the group does not
        read (yet) are skipped."""
        claimed = 0
        for key in keys:
            cursor = "0-0"
            while True:
                try:
                    reply: Any = await self.redis.xautoclaim(
                        key, group, consumer, min_idle_time=idle_ms, start_id=cursor, count=500
                    )
                except ResponseError as err:
                    if "NOGROUP" not in str(err):
                        raise
                    break
                claimed += len(reply[1])
                cursor = reply[0].decode() if isinstance(reply[0], bytes) else reply[0]
                if cursor == "0-0":
                    break
        return claimed

    async def ack(self, stream: str, ids: Sequence[str], group: str = GROUP) -> None:
        """Acknowledge entries the group has handled (the writers: whose rows are committed)."""
        if ids:
            await self.redis.xack(stream, group, *ids)

    async def trim(self, stream: str) -> None:
        """Drop entries every consumer group has acknowledged; never an unprocessed one."""
        groups: Any = await self.redis.xinfo_groups(stream)
        if not groups:
            return
        floor: str | None = None
        for group in groups:
            pending: Any = await self.redis.xpending(stream, group["name"])
            lowest = pending["min"] if pending["pending"] else None
            candidate = lowest or _after(group["last-delivered-id"])
            candidate = candidate.decode() if isinstance(candidate, bytes) else candidate
            if floor is None or _id_key(candidate) < _id_key(floor):
                floor = candidate
        if floor is not None:
            await self.redis.xtrim(stream, minid=floor, approximate=False)

    async def outstanding(self, feed: str, group: str = GROUP) -> bool:
        """Whether a feed's stream holds entries a group (the writers) has not acknowledged."""
        stream = self.stream(feed)
        if not await self.redis.exists(stream):
            return False
        info: Any = await self.redis.xinfo_stream(stream)
        groups: Any = await self.redis.xinfo_groups(stream)
        return any(g["pending"] or g["last-delivered-id"] != info["last-generated-id"]
                   for g in groups if _text(g["name"]) == group)

    async def publish_live(self, stream: str, body: bytes) -> int:
        """Publish a live delta with the stream's next sequence number; return that number."""
        seq = await self._publish_live(
            keys=[f"{self.prefix}:seq:{stream}", self.live_channel, self.live_log(stream)],
            args=[stream, body, self.live_retention],
        )
        return int(seq)

    def live_log(self, stream: str) -> str:
        """Key of a live stream's capped log of recent deltas (entry id `0-<seq>`)."""
        return f"{self.prefix}:livelog:{stream}"

    async def current_seq(self, stream: str) -> int:
        """The last sequence number published on a live stream."""
        value = await self.redis.get(f"{self.prefix}:seq:{stream}")
        return int(value or 0)


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _after(entry_id: str | bytes) -> str:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, seq = _id_key(text)
    return f"{ms}-{seq + 1}"
