"""Situations on the live WebSocket: the snapshot of the "situations" stream, and its deltas."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from psycopg_pool import AsyncConnectionPool

from ioc.bus import RedisBus
from ioc.situations.views import NOT_CLOSED, Filter, list_situations

STREAM = "situations"

Change = Literal[
    "opened", "merged", "escalated", "acknowledged", "assigned", "commented", "checklist",
    "in_progress", "condition_cleared", "resolved", "closed",
]


async def situations_snapshot(pool: AsyncConnectionPool) -> dict[str, Any]:
    """Every situation not closed (resolved ones wait for an operator to close them)."""
    async with pool.connection() as conn:
        rows = await list_situations(conn, Filter(statuses=NOT_CLOSED, limit=10_000))
    return {"situations": rows}


async def publish_change(bus: RedisBus, change: Change, situation: dict[str, Any]) -> int:
    """Push one situation change to every live client; return its sequence number."""
    return await bus.publish_live(STREAM, orjson.dumps({"change": change, "situation": situation}))
