"""Reading situations: the summary every list, snapshot and live change carries, and details."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

ACTIVE = ("open", "acknowledged", "in_progress")
NOT_CLOSED = (*ACTIVE, "resolved")
STATUSES = (*NOT_CLOSED, "closed")
SEVERITIES = ("info", "minor", "major", "critical")

SUMMARY_COLUMNS = (
    "id", "type", "severity", "status", "title", "rule_id", "asset_kind", "asset_id",
    "district", "lon", "lat", "opened_at", "updated_at", "escalated", "acknowledged_by",
    "assignee", "condition_cleared_at", "alert_count",
)
_SELECT = "SELECT " + ", ".join(SUMMARY_COLUMNS) + " FROM situations"


def summary(row: Sequence[Any]) -> dict[str, Any]:
    """The summary dict of a row selected with SUMMARY_COLUMNS."""
    item = dict(zip(SUMMARY_COLUMNS, row, strict=True))
    cleared = item.pop("condition_cleared_at")
    item["condition_cleared"] = cleared is not None
    item["opened_at"] = item["opened_at"].isoformat()
    item["updated_at"] = item["updated_at"].isoformat()
    return item


async def situation_summary(conn: psycopg.AsyncConnection, situation_id: int) -> dict[str, Any]:
    """One situation's summary (raises LookupError when there is none)."""
    cur = await conn.execute(_SELECT + " WHERE id = %s", (situation_id,))
    row = await cur.fetchone()
    if row is None:
        raise LookupError(f"no situation {situation_id}")
    return summary(row)


@dataclass(frozen=True, slots=True)
class Filter:
    """What a list of situations is restricted to (None: no restriction)."""

    statuses: Sequence[str] | None = None
    severities: Sequence[str] | None = None
    types: Sequence[str] | None = None
    districts: Sequence[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 500


async def list_situations(conn: psycopg.AsyncConnection, where: Filter) -> list[dict[str, Any]]:
    """Situations matching `where`, newest first.

    `since`/`until` keep the situations open at some moment of that interval: opened before
    its end and not resolved before its start.
    """
    cur = await conn.execute(
        _SELECT
        + " WHERE (%(st)s::text[] IS NULL OR status = ANY(%(st)s::text[]))"
        " AND (%(sev)s::text[] IS NULL OR severity = ANY(%(sev)s::text[]))"
        " AND (%(ty)s::text[] IS NULL OR type = ANY(%(ty)s::text[]))"
        " AND (%(di)s::text[] IS NULL OR district = ANY(%(di)s::text[]))"
        " AND (%(since)s::timestamptz IS NULL OR resolved_at IS NULL"
        "      OR resolved_at > %(since)s::timestamptz)"
        " AND (%(until)s::timestamptz IS NULL OR opened_at <= %(until)s::timestamptz)"
        " ORDER BY opened_at DESC, id DESC LIMIT %(limit)s",
        {"st": _list(where.statuses), "sev": _list(where.severities), "ty": _list(where.types),
         "di": _list(where.districts), "since": where.since, "until": where.until,
         "limit": where.limit},
    )
    return [summary(row) for row in await cur.fetchall()]


def _list(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else list(values)


async def situation_detail(conn: psycopg.AsyncConnection, situation_id: int) -> dict[str, Any]:
    """A situation's summary with its history, comments, checklist and evidence."""
    item = await situation_summary(conn, situation_id)
    cur = await conn.execute(
        "SELECT evidence, acknowledged_at, escalated_at, condition_cleared_at, resolved_at,"
        " resolved_by, closed_at, base_severity FROM situations WHERE id = %s", (situation_id,))
    row = await cur.fetchone()
    if row is None:  # deleted since the summary above was read
        raise LookupError(f"no situation {situation_id}")
    evidence, *stamps, resolved_by, closed_at, base = row
    for key, value in zip(("acknowledged_at", "escalated_at", "condition_cleared_at",
                           "resolved_at"), stamps, strict=True):
        item[key] = _iso(value)
    item.update(resolved_by=resolved_by, closed_at=_iso(closed_at), base_severity=base,
                evidence=evidence)
    cur = await conn.execute(
        "SELECT id, time, actor, action, from_status, to_status, detail FROM situation_events"
        " WHERE situation_id = %s ORDER BY id", (situation_id,))
    item["history"] = [
        {"id": i, "time": t.isoformat(), "actor": actor, "action": action,
         "from_status": before, "to_status": after, "detail": detail}
        for i, t, actor, action, before, after, detail in await cur.fetchall()
    ]
    # A situation ended while its condition held is reopened as a new one: both name the other.
    item["reopened_from"] = next((h["detail"].get("reopened_from") for h in item["history"]
                                  if h["action"] == "opened"), None)
    item["reopened_as"] = [h["detail"]["situation_id"] for h in item["history"]
                           if h["action"] == "reopened"]
    cur = await conn.execute(
        "SELECT id, time, author, text FROM situation_comments WHERE situation_id = %s"
        " ORDER BY id", (situation_id,))
    item["comments"] = [
        {"id": i, "time": t.isoformat(), "author": author, "text": text}
        for i, t, author, text in await cur.fetchall()
    ]
    item["checklist"] = await checklist(conn, situation_id)
    cur = await conn.execute(
        "SELECT rule_id, subject, raised_at, cleared_at, value FROM situation_alerts"
        " WHERE situation_id = %s ORDER BY id", (situation_id,))
    item["alerts"] = [
        {"rule_id": rule, "subject": subject, "raised_at": raised.isoformat(),
         "cleared_at": _iso(cleared), "value": value}
        for rule, subject, raised, cleared, value in await cur.fetchall()
    ]
    return item


async def checklist(conn: psycopg.AsyncConnection, situation_id: int) -> list[dict[str, Any]]:
    """The situation's checklist items in procedure order, with who ticked them and when."""
    cur = await conn.execute(
        "SELECT item_id, text_vi, text_en, done, done_by, done_at FROM situation_checklist"
        " WHERE situation_id = %s ORDER BY position", (situation_id,))
    return [
        {"id": item_id, "text_vi": vi, "text_en": en, "ticked": done, "by": by, "at": _iso(at)}
        for item_id, vi, en, done, by, at in await cur.fetchall()
    ]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
