"""What operators do to a situation: lifecycle transitions, assignment, comments, checklist.

Each action locks the situation, checks the transition, writes a situation_events row and
an audit_log row with the acting user, all in the caller's transaction, and returns the
change to publish once that transaction has committed. The caller gives `now`, from the
city's clock, so that an operator's stamps and the engine's share one time line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from ioc import audit
from ioc.auth.roles import Principal
from ioc.situations.live import Change
from ioc.situations.store import SituationChange, add_event
from ioc.situations.views import ACTIVE, NOT_CLOSED, situation_summary

# action: (statuses it may start from, status it leads to, the change it publishes)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, Change]] = {
    "acknowledge": (("open",), "acknowledged", "acknowledged"),
    "start": (("open", "acknowledged"), "in_progress", "in_progress"),
    "resolve": (ACTIVE, "resolved", "resolved"),
    "close": (("resolved",), "closed", "closed"),
}


class Conflict(Exception):
    """The action does not fit the situation's state."""


async def _lock(conn: psycopg.AsyncConnection, situation_id: int) -> str:
    row = await (await conn.execute(
        "SELECT status FROM situations WHERE id = %s FOR UPDATE", (situation_id,))).fetchone()
    if row is None:
        raise LookupError(f"no situation {situation_id}")
    return str(row[0])


async def _done(
    conn: psycopg.AsyncConnection, who: Principal, situation_id: int, action: str,
    change: Change, before: str, after: str, detail: dict[str, Any], now: datetime,
) -> SituationChange:
    await add_event(conn, situation_id, who.username, action, before, after, detail, at=now)
    await audit.record(conn, who, f"situation.{action}", f"situation:{situation_id}",
                       detail={"from_status": before, "to_status": after, **detail})
    return SituationChange(change, await situation_summary(conn, situation_id))


async def transition(
    conn: psycopg.AsyncConnection, who: Principal, situation_id: int, action: str,
    note: str | None = None, *, now: datetime,
) -> SituationChange:
    """Acknowledge, start, resolve or close a situation (Conflict when it cannot)."""
    allowed, after, change = TRANSITIONS[action]
    before = await _lock(conn, situation_id)
    if before not in allowed:
        raise Conflict(f"cannot {action} a situation that is {before.replace('_', ' ')}; "
                       f"only one that is {' or '.join(s.replace('_', ' ') for s in allowed)}")
    sets = {
        "acknowledge": "acknowledged_at = %(now)s, acknowledged_by = %(who)s",
        # Starting work on an unacknowledged situation acknowledges it too.
        "start": "acknowledged_at = coalesce(acknowledged_at, %(now)s),"
                 " acknowledged_by = coalesce(acknowledged_by, %(who)s)",
        "resolve": "resolved_at = %(now)s, resolved_by = %(who)s",
        "close": "closed_at = %(now)s",
    }[action]
    await conn.execute(
        f"UPDATE situations SET status = %(after)s, updated_at = %(now)s, {sets}"
        " WHERE id = %(id)s",
        {"after": after, "who": who.username, "id": situation_id, "now": now})
    detail = {} if note is None else {"note": note}
    return await _done(conn, who, situation_id, action, change, before, after, detail, now)


async def assign(
    conn: psycopg.AsyncConnection, who: Principal, situation_id: int, assignee: str, *,
    now: datetime,
) -> SituationChange:
    """Give a situation to a user (an enabled account that is not a viewer)."""
    status = await _lock(conn, situation_id)
    if status not in NOT_CLOSED:
        raise Conflict("cannot assign a closed situation")
    row = await (await conn.execute(
        "SELECT role, disabled FROM users WHERE username = %s", (assignee,))).fetchone()
    if row is None or row[1] or row[0] == "viewer":
        raise ValueError(f"{assignee!r} is not an enabled user who may handle situations")
    await conn.execute("UPDATE situations SET assignee = %s, updated_at = %s WHERE id = %s",
                       (assignee, now, situation_id))
    return await _done(conn, who, situation_id, "assign", "assigned", status, status,
                       {"assignee": assignee}, now)


async def comment(
    conn: psycopg.AsyncConnection, who: Principal, situation_id: int, text: str, *,
    now: datetime,
) -> SituationChange:
    """Add an operator's comment."""
    status = await _lock(conn, situation_id)
    if status == "closed":
        raise Conflict("cannot comment on a closed situation")
    cur = await conn.execute(
        "INSERT INTO situation_comments (situation_id, time, author, text)"
        " VALUES (%s, %s, %s, %s) RETURNING id", (situation_id, now, who.username, text))
    row = await cur.fetchone()
    if row is None:
        raise LookupError("the new comment's id did not come back")
    await conn.execute("UPDATE situations SET updated_at = %s WHERE id = %s",
                       (now, situation_id))
    return await _done(conn, who, situation_id, "comment", "commented", status, status,
                       {"comment_id": row[0], "text": text}, now)


async def tick(
    conn: psycopg.AsyncConnection, who: Principal, situation_id: int, item_id: str, done: bool,
    *, now: datetime,
) -> SituationChange:
    """Tick (or untick) one item of the situation's checklist."""
    status = await _lock(conn, situation_id)
    if status == "closed":
        raise Conflict("cannot change the checklist of a closed situation")
    cur = await conn.execute(
        "UPDATE situation_checklist SET done = %(done)s,"
        " done_by = CASE WHEN %(done)s THEN %(who)s END,"
        " done_at = CASE WHEN %(done)s THEN %(now)s END"
        " WHERE situation_id = %(id)s AND item_id = %(item)s RETURNING done",
        {"done": done, "who": who.username, "id": situation_id, "item": item_id, "now": now})
    if await cur.fetchone() is None:
        raise LookupError(f"situation {situation_id} has no checklist item {item_id!r}")
    await conn.execute("UPDATE situations SET updated_at = %s WHERE id = %s",
                       (now, situation_id))
    return await _done(conn, who, situation_id, "checklist", "checklist", status, status,
                       {"item_id": item_id, "done": done}, now)
