"""Signal rows: the controller event log, status changes, live unit state by district."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import psycopg

from ioc.storage.append import WriteResult, append_once, upsert_newest

_EVENTS = ("time", "signal_id", "event_code", "parameter", "district")
_STATUS = ("time", "signal_id", "state", "reason", "since", "district")
_LATEST = _STATUS + ("lon", "lat")

# (kind, row): "event" rows follow _EVENTS; "status" rows follow _LATEST.
SignalRow = tuple[str, tuple[Any, ...]]


def _coordinate(value: Any) -> float | None:
    number = None if value is None else float(value)
    return None if number is None or math.isnan(number) else number


def signal_row(record: dict[str, Any]) -> SignalRow:
    """The row of one bus record: an event, or a status change (raises when corrupt)."""
    district = None if record["district"] is None else str(record["district"])
    if "state" in record:
        return "status", (
            str(record["at"]), str(record["signal_id"]), str(record["state"]),
            record["reason"], record["since"], district,
            _coordinate(record["lon"]), _coordinate(record["lat"]),
        )
    return "event", (
        str(record["time"]), str(record["signal_id"]), int(record["event_code"]),
        int(record["parameter"]), district,
    )


async def write_signals(conn: psycopg.AsyncConnection, rows: Sequence[SignalRow]) -> WriteResult:
    """Append events and status changes, and move each unit's live status forward."""
    events = [row for kind, row in rows if kind == "event"]
    statuses = [row for kind, row in rows if kind == "status"]
    inserted = await append_once(conn, "signal_events", _EVENTS, events)
    inserted += await append_once(conn, "signal_status", _STATUS, [r[:6] for r in statuses])
    await upsert_newest(conn, "signal_status_latest", _LATEST, ("signal_id",), statuses)
    return WriteResult(len(rows), inserted)


async def district_signals(
    conn: psycopg.AsyncConnection, codes: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Signals per district by state, and the share operating normally."""
    cur = await conn.execute(
        "SELECT district, count(*), count(*) FILTER (WHERE state = 'normal'),"
        " count(*) FILTER (WHERE state = 'flash'), count(*) FILTER (WHERE state = 'dark'),"
        " count(*) FILTER (WHERE state = 'comm_lost'),"
        " count(*) FILTER (WHERE state = 'coordination_failed'), max(time)"
        " FROM signal_status_latest WHERE district IS NOT NULL"
        " AND (%(codes)s::text[] IS NULL OR district = ANY(%(codes)s::text[]))"
        " GROUP BY district",
        {"codes": None if codes is None else list(codes)},
    )
    return {
        code: {"signals": total, "normal": normal, "flash": flash, "dark": dark,
               "comm_lost": lost, "coordination_failed": uncoordinated,
               "share_normal": round(normal / total, 4), "updated_at": time.isoformat()}
        for code, total, normal, flash, dark, lost, uncoordinated, time in await cur.fetchall()
    }


async def signal_units(
    conn: psycopg.AsyncConnection, signal_ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Each signal's live status."""
    cur = await conn.execute(
        "SELECT signal_id, time, state, reason, since, district FROM signal_status_latest"
        " WHERE %(ids)s::text[] IS NULL OR signal_id = ANY(%(ids)s::text[]) ORDER BY signal_id",
        {"ids": None if signal_ids is None else list(signal_ids)},
    )
    return [
        {"id": sid, "updated_at": time.isoformat(), "state": state, "reason": reason,
         "since": None if since is None else since.isoformat(), "district": district}
        for sid, time, state, reason, since, district in await cur.fetchall()
    ]
