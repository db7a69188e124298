"""Queue rows: ticket events and counter snapshots, live desk state, district figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import psycopg

from ioc.storage.append import WriteResult, append_once, upsert_newest

_EVENTS = ("time", "point_id", "ticket_id", "event", "service_type", "counter_id", "district")
_SNAPSHOTS = ("time", "point_id", "counters_open", "waiting_total", "waiting", "district")
_LATEST = _SNAPSHOTS + ("lon", "lat")

# (kind, row): kind "ticket" rows follow _EVENTS; kind "counters" rows follow _LATEST.
QueueRow = tuple[str, tuple[Any, ...]]


def queue_row(record: dict[str, Any]) -> QueueRow:
    """The row of one bus record (KeyError, TypeError or ValueError when it is corrupt)."""
    district = None if record["district"] is None else str(record["district"])
    if record["kind"] == "ticket":
        return "ticket", (
            str(record["at"]), str(record["point_id"]), str(record["ticket_id"]),
            str(record["event"]), str(record["service_type"]),
            None if record["counter_id"] is None else str(record["counter_id"]), district,
        )
    if record["kind"] == "counters":
        waiting = {str(k): int(v) for k, v in dict(record["waiting"]).items()}
        return "counters", (
            str(record["at"]), str(record["point_id"]), int(record["counters_open"]),
            sum(waiting.values()), orjson.dumps(waiting).decode(), district,
            float(record["lon"]), float(record["lat"]),
        )
    raise ValueError(f"unknown queue record kind {record['kind']!r}")


async def write_queues(conn: psycopg.AsyncConnection, rows: Sequence[QueueRow]) -> WriteResult:
    """Append events and snapshots, and move each desk's live state forward."""
    events = [row for kind, row in rows if kind == "ticket"]
    snapshots = [row for kind, row in rows if kind == "counters"]
    inserted = await append_once(conn, "queue_ticket_events", _EVENTS, events)
    inserted += await append_once(
        conn, "queue_counter_snapshots", _SNAPSHOTS, [r[:6] for r in snapshots]
    )
    await upsert_newest(conn, "queue_latest", _LATEST, ("point_id",), snapshots)
    return WriteResult(len(rows), inserted)


async def district_queues(
    conn: psycopg.AsyncConnection, codes: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """People waiting and counters open per district, from each desk's latest snapshot."""
    cur = await conn.execute(
        "SELECT district, count(*), sum(waiting_total), sum(counters_open), max(time)"
        " FROM queue_latest WHERE district IS NOT NULL"
        " AND (%(codes)s::text[] IS NULL OR district = ANY(%(codes)s::text[]))"
        " GROUP BY district",
        {"codes": None if codes is None else list(codes)},
    )
    return {
        code: {"points": points, "waiting": int(waiting), "counters_open": int(counters),
               "updated_at": time.isoformat()}
        for code, points, waiting, counters, time in await cur.fetchall()
    }


async def queue_points(
    conn: psycopg.AsyncConnection, point_ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Each desk's latest counter snapshot."""
    cur = await conn.execute(
        "SELECT point_id, time, counters_open, waiting_total, waiting, district FROM queue_latest"
        " WHERE %(ids)s::text[] IS NULL OR point_id = ANY(%(ids)s::text[]) ORDER BY point_id",
        {"ids": None if point_ids is None else list(point_ids)},
    )
    return [
        {"id": pid, "updated_at": time.isoformat(), "counters_open": counters,
         "waiting": total, "by_service": waiting, "district": district}
        for pid, time, counters, total, waiting, district in await cur.fetchall()
    ]
