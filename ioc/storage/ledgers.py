"""Rows of the feeds that are ledgers rather than state: parking sessions, online
applications and smart-card taps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from ioc.storage.append import WriteResult, append_once, copy_rows

_SESSIONS = ("time", "site_id", "session_id", "ended", "vehicle_type", "ended_at",
             "amount_vnd", "payment", "district")
_TAPS = ("time", "card_hash", "stop_id", "district")


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def session_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """The row of one parking session report (raises when it is corrupt)."""
    amount = record["amount_vnd"]
    return (
        str(record["started_at"]), str(record["site_id"]), str(record["session_id"]),
        bool(record["ended"]), str(record["vehicle_type"]), _opt(record["ended_at"]),
        None if amount is None else int(amount), _opt(record["payment"]),
        _opt(record["district"]),
    )


def online_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """The row of one online-applications count (raises when it is corrupt)."""
    return (str(record["day"]), str(record["district"]), str(record["level"]),
            int(record["applications"]))


def tap_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """The row of one smart-card tap (raises when it is corrupt)."""
    return (str(record["at"]), str(record["card_hash"]), str(record["stop_id"]),
            _opt(record["district"]))


async def write_sessions(conn: psycopg.AsyncConnection, rows: Sequence[tuple[Any, ...]]
                         ) -> WriteResult:
    """Append session starts and ends, each once."""
    return WriteResult(len(rows), await append_once(conn, "parking_sessions", _SESSIONS, rows))


async def write_taps(conn: psycopg.AsyncConnection, rows: Sequence[tuple[Any, ...]]
                     ) -> WriteResult:
    """Append taps, each once."""
    return WriteResult(len(rows), await append_once(conn, "brt_taps", _TAPS, rows))


async def write_online(conn: psycopg.AsyncConnection, rows: Sequence[tuple[Any, ...]]
                       ) -> WriteResult:
    """Keep each district's day count per level at the largest reported (counts only grow)."""
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS online_applications_stage"
        " (LIKE online_applications) ON COMMIT DELETE ROWS"
    )
    await copy_rows(conn, "online_applications_stage",
                    ("day", "district", "level", "applications"), rows)
    cur = await conn.execute(
        "INSERT INTO online_applications AS o SELECT DISTINCT ON (district, day, level) *"
        " FROM online_applications_stage ORDER BY district, day, level, applications DESC"
        " ON CONFLICT (district, day, level) DO UPDATE SET applications = excluded.applications"
        " WHERE excluded.applications > o.applications"
    )
    await conn.execute("TRUNCATE online_applications_stage")
    return WriteResult(len(rows), cur.rowcount)
