"""What changed in the last minutes, for the wall: opened, escalated, resolved, and the
districts that got worse or better.

A district's *pressure* at an instant T is the sum, over the situations open at T in that
district (opened_at ≤ T and not resolved by T), of a weight per severity: info 1, minor 2,
major 4, critical 8. The severity counted at T is the situation's present one if it had
escalated by T, else its severity before escalation. A district got worse when its pressure
now is higher than it was `minutes` ago, better when lower.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

from ioc.situations.views import SUMMARY_COLUMNS, summary

WEIGHTS = {"info": 1, "minor": 2, "major": 4, "critical": 8}

_PRESSURE = """
SELECT district, sum(CASE (CASE WHEN escalated_at <= %(t)s THEN severity ELSE base_severity END)
    WHEN 'info' THEN 1 WHEN 'minor' THEN 2 WHEN 'major' THEN 4 ELSE 8 END)
FROM situations
WHERE district IS NOT NULL AND opened_at <= %(t)s AND (resolved_at IS NULL OR resolved_at > %(t)s)
GROUP BY district
"""


async def _pressure(conn: psycopg.AsyncConnection, at: datetime) -> dict[str, int]:
    cur = await conn.execute(_PRESSURE, {"t": at})
    return {district: int(total) for district, total in await cur.fetchall()}


async def _since(conn: psycopg.AsyncConnection, column: str, since: datetime
                 ) -> list[dict[str, Any]]:
    cur = await conn.execute(
        f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM situations WHERE {column} > %s"
        f" ORDER BY {column} DESC, id DESC", (since,))
    return [summary(row) for row in await cur.fetchall()]


async def recent_changes(conn: psycopg.AsyncConnection, minutes: float, now: datetime
                         ) -> dict[str, Any]:
    """The wall's summary of the `minutes` before `now` (the city's clock)."""
    since = now - timedelta(minutes=minutes)
    opened = await _since(conn, "opened_at", since)
    escalated = await _since(conn, "escalated_at", since)
    resolved = await _since(conn, "resolved_at", since)
    then, current = await _pressure(conn, since), await _pressure(conn, now)
    deltas = {d: current.get(d, 0) - then.get(d, 0) for d in then.keys() | current.keys()}

    def moved(sign: int) -> list[dict[str, Any]]:
        chosen = sorted((d for d, v in deltas.items() if v * sign > 0),
                        key=lambda d: (-abs(deltas[d]), d))
        return [{"district": d, "then": then.get(d, 0), "now": current.get(d, 0),
                 "delta": deltas[d]} for d in chosen]

    return {
        "since": since.isoformat(), "until": now.isoformat(), "minutes": minutes,
        "weights": WEIGHTS,
        "counts": {"opened": len(opened), "escalated": len(escalated),
                   "resolved": len(resolved)},
        "opened": opened, "escalated": escalated, "resolved": resolved,
        "worse": moved(1), "better": moved(-1),
    }
