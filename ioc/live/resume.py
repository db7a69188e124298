"""The retained deltas: read a stretch of a live stream back from its capped log in Redis.

Each delta is appended to the stream's log (`<prefix>:livelog:<stream>`, entry id `0-<seq>`)
in the same Lua step that numbers and publishes it, so the log holds exactly what was
published, in order, and any API process can replay it.
"""

from __future__ import annotations

from typing import Any

from ioc.bus import LiveMessage, RedisBus


async def read_range(bus: RedisBus, stream: str, after: int, upto: int) -> list[LiveMessage] | None:
    """Deltas `after`+1 .. `upto` of `stream`, or None when some are no longer retained."""
    if upto <= after:
        return []
    entries: Any = await bus.redis.xrange(bus.live_log(stream), min=f"(0-{after}", max=f"0-{upto}")
    messages = [
        LiveMessage(stream, int(entry_id.rpartition(b"-")[2]), fields[b"b"])
        for entry_id, fields in entries
    ]
    if len(messages) != upto - after or (messages and messages[0].seq != after + 1):
        return None
    return messages
