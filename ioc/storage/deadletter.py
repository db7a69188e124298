"""The dead-letter store: every rejected record, with its reason, kept for inspection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One rejected record and where it came from on the bus."""

    feed: str
    reason: str
    payload: str
    entry_id: str
    position: int


async def write_dead_letters(conn: psycopg.AsyncConnection, letters: Sequence[DeadLetter]) -> None:
    """Store rejected records once each (a redelivered bus entry adds nothing)."""
    if not letters:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO dead_letter (feed, reason, payload, entry_id, position)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (entry_id, position) DO NOTHING",
            [(d.feed, d.reason, d.payload, d.entry_id, d.position) for d in letters],
        )


async def recent_dead_letters(
    conn: psycopg.AsyncConnection, feed: str, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest rejected records of one feed."""
    cur = await conn.execute(
        "SELECT received_at, reason, payload FROM dead_letter WHERE feed = %s"
        " ORDER BY received_at DESC, id DESC LIMIT %s",
        (feed, limit),
    )
    return [
        {"received_at": at.isoformat(), "reason": reason, "payload": payload}
        for at, reason, payload in await cur.fetchall()
    ]
