"""Situations in the database as the engine changes them: alerts raised and cleared (opening,
merging, reopening, condition cleared, auto-resolve) and escalation. Callers own the
transaction, and give the time (the city's clock) every change is stamped with.

An alert whose situation an operator resolved or closed while the condition still held stays
raised (not cleared). When its rule raises it again, the alert moves on: it is ended on the
old situation, and the new (or merged-into) situation records `reopened_from` in its evidence
and its event, the old one a "reopened" event naming the new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ioc.situations.live import Change
from ioc.situations.readings import Reading
from ioc.situations.rules import Procedure, Rule, worst
from ioc.situations.views import ACTIVE, situation_summary

SYSTEM = "system"
EVIDENCE_MAX = 20


@dataclass(frozen=True, slots=True)
class SituationChange:
    """A change to publish once its transaction has committed."""

    change: Change
    situation: dict[str, Any]


async def add_event(
    conn: psycopg.AsyncConnection, situation_id: int, actor: str, action: str,
    before: str | None, after: str | None, detail: Mapping[str, Any] | None = None, *,
    at: datetime,
) -> None:
    """Append one row, stamped `at`, to the situation's history."""
    await conn.execute(
        "INSERT INTO situation_events (situation_id, time, actor, action, from_status,"
        " to_status, detail) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (situation_id, at, actor, action, before, after, Jsonb(dict(detail or {}))),
    )


class _Fields(dict[str, Any]):
    """Title fields; an unknown name stays as written rather than failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def titles(rule: Rule, reading: Reading, name: str | None, value: float) -> tuple[str, str]:
    """The Vietnamese and English titles of a new situation, from the rule's templates."""
    fields = _Fields(name=name or reading.asset_id or reading.subject, subject=reading.subject,
                     asset_id=reading.asset_id or "", district=reading.district or "",
                     value=f"{value:.0%}" if 0 <= value <= 1.5 else f"{value:g}")
    return rule.title.vi.format_map(fields), rule.title.en.format_map(fields)


def _evidence(rule: Rule, reading: Reading, value: float, reopened_from: int | None
              ) -> dict[str, Any]:
    item = {"rule_id": rule.id, "subject": reading.subject, "at": reading.at.isoformat(),
            "value": value, "observation": dict(reading.evidence)}
    if reopened_from is not None:
        item["reopened_from"] = reopened_from
    return item


async def _end_released(conn: psycopg.AsyncConnection, rule: Rule, subject: str,
                        now: datetime) -> tuple[int, str] | None:
    """End the alert still raised on a situation an operator ended; return that situation's
    id and status."""
    cur = await conn.execute(
        "UPDATE situation_alerts a SET cleared_at = %(now)s FROM situations s"
        " WHERE s.id = a.situation_id AND a.rule_id = %(rule)s AND a.subject = %(subject)s"
        " AND a.cleared_at IS NULL AND NOT s.status = ANY(%(active)s)"
        " RETURNING a.situation_id, s.status",
        {"now": now, "rule": rule.id, "subject": subject, "active": list(ACTIVE)})
    row = await cur.fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


async def raise_alert(
    conn: psycopg.AsyncConnection, rule: Rule, reading: Reading, value: float,
    procedure: Procedure, name: str | None = None, *, now: datetime,
) -> SituationChange:
    """Record an alert: merged into an active situation of its type about the same asset
    (or, for district-merging rules, of the same district within the window), else opened;
    linked to the ended situation it was still raised on, if any."""
    released = await _end_released(conn, rule, reading.subject, now)
    reopened_from = None if released is None else released[0]
    cur = await conn.execute(
        "SELECT id, status, evidence, severity, base_severity FROM situations WHERE type = %(type)s"
        " AND status = ANY(%(active)s) AND ("
        "   (%(asset)s::text IS NOT NULL AND asset_kind IS NOT DISTINCT FROM %(kind)s"
        "    AND asset_id = %(asset)s)"
        "   OR (%(by_district)s AND district = %(district)s"
        "       AND last_alert_at >= %(now)s - make_interval(secs => %(window)s)))"
        " ORDER BY (asset_id IS NOT DISTINCT FROM %(asset)s) DESC, last_alert_at DESC"
        " LIMIT 1 FOR UPDATE",
        {"type": rule.type, "active": list(ACTIVE), "asset": reading.asset_id,
         "kind": reading.asset_kind, "by_district": rule.merge.by == "district",
         "district": reading.district, "window": rule.merge.window_s, "now": now},
    )
    row = await cur.fetchone()
    item = _evidence(rule, reading, value, reopened_from)
    detail: dict[str, Any] = {"rule_id": rule.id, "subject": reading.subject, "value": value}
    if reopened_from is not None:
        detail["reopened_from"] = reopened_from
    if row is not None:
        situation_id, status, evidence, severity, base = row
        await conn.execute(
            "UPDATE situations SET alert_count = alert_count + 1, severity = %s,"
            " base_severity = %s, evidence = %s, last_alert_at = %s, updated_at = %s,"
            " condition_cleared_at = NULL WHERE id = %s",
            (worst(severity, rule.severity), worst(base, rule.severity),
             Jsonb([*evidence, item][-EVIDENCE_MAX:]), now, now, situation_id))
        change: Change = "merged"
        await add_event(conn, situation_id, SYSTEM, "merged", status, status, detail, at=now)
    else:
        title, title_en = titles(rule, reading, name, value)
        cur = await conn.execute(
            "INSERT INTO situations (type, severity, base_severity, title, title_en, rule_id,"
            " asset_kind, asset_id, district, lon, lat, evidence, opened_at, updated_at,"
            " last_alert_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (rule.type, rule.severity, rule.severity, title, title_en, rule.id,
             reading.asset_kind, reading.asset_id, reading.district, reading.lon, reading.lat,
             Jsonb([item]), now, now, now))
        new = await cur.fetchone()
        if new is None:
            raise LookupError("the new situation's id did not come back")
        situation_id, change = new[0], "opened"
        async with conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO situation_checklist (situation_id, item_id, position, text_vi,"
                " text_en) VALUES (%s, %s, %s, %s, %s)",
                [(situation_id, step.id, i, step.vi, step.en)
                 for i, step in enumerate(procedure.checklist)])
        await add_event(conn, situation_id, SYSTEM, "opened", None, "open", detail, at=now)
    if released is not None:
        ended, status_then = released
        await add_event(conn, ended, SYSTEM, "reopened", status_then, status_then,
                        {"situation_id": situation_id, "rule_id": rule.id,
                         "subject": reading.subject}, at=now)
    await conn.execute(
        "INSERT INTO situation_alerts (situation_id, rule_id, subject, raised_at, value)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (situation_id, rule.id, reading.subject, reading.at, value))
    return SituationChange(change, await situation_summary(conn, situation_id))


async def clear_alert(
    conn: psycopg.AsyncConnection, rule: Rule, subject: str, at: datetime, *, now: datetime,
) -> SituationChange | None:
    """Record that an alert's condition cleared; when it was its situation's last raised
    alert, mark the condition cleared, and resolve the situation if the rule says so."""
    cur = await conn.execute(
        "UPDATE situation_alerts SET cleared_at = %s WHERE rule_id = %s AND subject = %s"
        " AND cleared_at IS NULL RETURNING situation_id", (at, rule.id, subject))
    row = await cur.fetchone()
    if row is None:
        return None
    situation_id = row[0]
    row = await (await conn.execute(
        "SELECT status, (SELECT count(*) FROM situation_alerts a WHERE a.situation_id = s.id"
        " AND a.cleared_at IS NULL) FROM situations s WHERE id = %s FOR UPDATE",
        (situation_id,))).fetchone()
    if row is None or row[1]:
        return None  # the situation is gone, or another of its alerts still holds
    status = row[0]
    await conn.execute("UPDATE situations SET condition_cleared_at = %s, updated_at = %s"
                       " WHERE id = %s", (now, now, situation_id))
    await add_event(conn, situation_id, SYSTEM, "condition_cleared", status, status,
                    {"rule_id": rule.id, "subject": subject, "at": at.isoformat()}, at=now)
    change: Change = "condition_cleared"
    if rule.auto_resolve and status in ACTIVE:
        await conn.execute(
            "UPDATE situations SET status = 'resolved', resolved_at = %s,"
            " resolved_by = %s, updated_at = %s WHERE id = %s",
            (now, SYSTEM, now, situation_id))
        await add_event(conn, situation_id, SYSTEM, "resolved", status, "resolved",
                        {"reason": "condition cleared", "rule_id": rule.id}, at=now)
        change = "resolved"
    return SituationChange(change, await situation_summary(conn, situation_id))


async def escalate_due(
    conn: psycopg.AsyncConnection, limits: Mapping[str, float], now: datetime
) -> list[SituationChange]:
    """Raise by one step the severity of every open situation not acknowledged within its
    type's limit by `now`, once, and mark it escalated."""
    if not limits:
        return []
    cur = await conn.execute(
        "UPDATE situations s SET escalated = true, escalated_at = %(now)s,"
        " updated_at = %(now)s,"
        " severity = CASE s.severity WHEN 'info' THEN 'minor' WHEN 'minor' THEN 'major'"
        "   ELSE 'critical' END"
        " FROM unnest(%(types)s::text[], %(seconds)s::float8[]) AS lim(type, seconds)"
        " WHERE s.type = lim.type AND s.status = 'open' AND NOT s.escalated"
        " AND s.opened_at <= %(now)s - make_interval(secs => lim.seconds)"
        " RETURNING s.id, s.severity, lim.seconds",
        {"now": now, "types": list(limits), "seconds": [float(v) for v in limits.values()]})
    changes = []
    for situation_id, severity, seconds in await cur.fetchall():
        await add_event(conn, situation_id, SYSTEM, "escalated", "open", "open",
                        {"severity": severity, "unacknowledged_s": seconds}, at=now)
        changes.append(SituationChange("escalated", await situation_summary(conn, situation_id)))
    return changes


async def raised_alerts(conn: psycopg.AsyncConnection
                        ) -> list[tuple[str, str, datetime, bool]]:
    """(rule id, subject, raised at, whether its situation is still active) of every alert
    not yet cleared: the engine's memory."""
    cur = await conn.execute(
        "SELECT a.rule_id, a.subject, a.raised_at, s.status = ANY(%s) FROM situation_alerts a"
        " JOIN situations s ON s.id = a.situation_id WHERE a.cleared_at IS NULL",
        (list(ACTIVE),))
    return [(rule, subject, at, active) for rule, subject, at, active in await cur.fetchall()]


async def released_alerts(conn: psycopg.AsyncConnection) -> list[tuple[str, str]]:
    """(rule id, subject) of the alerts still raised whose situation an operator ended."""
    cur = await conn.execute(
        "SELECT a.rule_id, a.subject FROM situation_alerts a"
        " JOIN situations s ON s.id = a.situation_id"
        " WHERE a.cleared_at IS NULL AND NOT s.status = ANY(%s)", (list(ACTIVE),))
    return [(rule, subject) for rule, subject in await cur.fetchall()]
