"""The append-only audit log: who did what, to what, when, and whether it was allowed."""

from __future__ import annotations

from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from ioc.auth.roles import Principal

Outcome = Literal["ok", "refused"]


async def record(
    conn: AsyncConnection[Any], actor: Principal | str, action: str, target: str | None = None,
    *, outcome: Outcome = "ok", ip: str | None = None, detail: dict[str, Any] | None = None,
) -> None:
    """Append one audited event, inside the caller's transaction when it has one."""
    username, role = (actor.username, actor.role.value) if isinstance(actor, Principal) \
        else (actor, None)
    await conn.execute(
        "INSERT INTO audit_log (actor, role, action, target, outcome, ip, detail) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (username, role, action, target, outcome, ip, Jsonb(detail or {})),
    )
