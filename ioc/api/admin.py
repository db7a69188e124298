"""Administration: users, feed API keys, and the audit log. Every change is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg.errors
from fastapi import APIRouter, HTTPException, Query
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from feeds.registry import FEEDS
from ioc.api.deps import Admin, State
from ioc.audit import record
from ioc.auth.keys import KeyInfo, create_key, list_keys, revoke_key, rotate_key
from ioc.auth.passwords import WeakPassword
from ioc.auth.roles import Role
from ioc.auth.users import User, create_user, list_users, update_user

router = APIRouter(prefix="/api/admin", tags=["admin"])
USERNAME = r"^[A-Za-z0-9._@-]{1,64}$"
# A display name is text for people: no control characters (PostgreSQL refuses NUL anyway).
DISPLAY_NAME = r"^[^\x00-\x1f\x7f]*$"


class NewUser(BaseModel):
    """A user to create."""

    username: str = Field(pattern=USERNAME)
    role: Role
    password: str = Field(min_length=8, max_length=256)
    display_name: str | None = Field(None, max_length=200, pattern=DISPLAY_NAME)


class UserChange(BaseModel):
    """What to change about a user; absent fields stay as they are."""

    role: Role | None = None
    password: str | None = Field(None, min_length=8, max_length=256)
    display_name: str | None = Field(None, max_length=200, pattern=DISPLAY_NAME)
    disabled: bool | None = None


class NewKey(BaseModel):
    """The feed a new key may push to."""

    feed: str


class Rotation(BaseModel):
    """How long the replaced key keeps working, so the source can switch without a gap."""

    grace_s: int = Field(3600, ge=0, le=30 * 86400)


class IssuedKey(BaseModel):
    """A key's id and its secret, shown only in this response."""

    key_id: str
    feed: str
    key: str


class AuditEntry(BaseModel):
    """One audited event."""

    id: int
    time: datetime
    actor: str
    role: str | None
    action: str
    target: str | None
    outcome: str
    ip: str | None
    detail: dict[str, Any]


@router.get("/users", response_model=list[User])
async def users(state: State, _user: Admin) -> list[User]:
    """Every user."""
    async with state.pool.connection() as conn:
        return await list_users(conn)


@router.post("/users", response_model=User, status_code=201)
async def add_user(body: NewUser, state: State, admin: Admin) -> User:
    """Create a user."""
    async with state.pool.connection() as conn, conn.transaction():
        try:
            user = await create_user(conn, body.username, body.role, body.password,
                                     body.display_name)
        except psycopg.errors.UniqueViolation as err:
            raise HTTPException(409, f"user {body.username!r} exists") from err
        except WeakPassword as err:
            raise HTTPException(422, str(err)) from err
        await record(conn, admin, "user.create", body.username, detail={"role": body.role})
    return user


@router.patch("/users/{username}", response_model=User)
async def change_user(username: str, body: UserChange, state: State, admin: Admin) -> User:
    """Change a user's role, password, name, or whether it is disabled."""
    async with state.pool.connection() as conn, conn.transaction():
        user = await update_user(conn, username, role=body.role, password=body.password,
                                 display_name=body.display_name, disabled=body.disabled)
        if user is None:
            raise HTTPException(404, f"no user {username!r}")
        changed = body.model_dump(exclude_none=True, exclude={"password"})
        if body.password is not None:
            changed["password"] = "changed"
        await record(conn, admin, "user.change", username, detail=changed)
    return user


@router.get("/keys", response_model=list[KeyInfo])
async def keys(state: State, _user: Admin) -> list[KeyInfo]:
    """Every feed API key (without secrets)."""
    async with state.pool.connection() as conn:
        return await list_keys(conn)


@router.post("/keys", response_model=IssuedKey, status_code=201)
async def add_key(body: NewKey, state: State, admin: Admin) -> IssuedKey:
    """Issue a key that may push to one feed."""
    if body.feed not in FEEDS:
        raise HTTPException(422, f"no feed named {body.feed!r}; feeds: {sorted(FEEDS)}")
    async with state.pool.connection() as conn, conn.transaction():
        key_id, key = await create_key(conn, body.feed, admin.username)
        await record(conn, admin, "key.create", key_id, detail={"feed": body.feed})
    return IssuedKey(key_id=key_id, feed=body.feed, key=key)


@router.post("/keys/{key_id}/rotate", response_model=IssuedKey, status_code=201)
async def rotate(key_id: str, body: Rotation, state: State, admin: Admin) -> IssuedKey:
    """Replace a key; the old one stops after the grace period."""
    async with state.pool.connection() as conn, conn.transaction():
        issued = await rotate_key(conn, key_id, body.grace_s, admin.username)
        if issued is None:
            raise HTTPException(404, f"no live key {key_id!r}")
        new_id, key, feed = issued
        await record(conn, admin, "key.rotate", key_id,
                     detail={"replacement": new_id, "grace_s": body.grace_s})
    return IssuedKey(key_id=new_id, feed=feed, key=key)


@router.delete("/keys/{key_id}", status_code=204)
async def revoke(key_id: str, state: State, admin: Admin) -> None:
    """Stop a key at once."""
    async with state.pool.connection() as conn, conn.transaction():
        if not await revoke_key(conn, key_id):
            raise HTTPException(404, f"no live key {key_id!r}")
        await record(conn, admin, "key.revoke", key_id)


@router.get("/audit", response_model=list[AuditEntry])
async def audit(
    state: State, _user: Admin,
    actor: str | None = None, action: str | None = None, target: str | None = None,
    outcome: str | None = Query(None, pattern="^(ok|refused)$"),
    since: datetime | None = None, until: datetime | None = None,
    limit: int = Query(200, ge=1, le=5000),
) -> list[AuditEntry]:
    """Audited events, newest first; `action` matches a prefix (`situation.` for all)."""
    async with state.pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            "SELECT id, time, actor, role, action, target, outcome, ip, detail FROM audit_log"
            " WHERE (%(actor)s::text IS NULL OR actor = %(actor)s)"
            " AND (%(action)s::text IS NULL OR starts_with(action, %(action)s))"
            " AND (%(target)s::text IS NULL OR target = %(target)s)"
            " AND (%(outcome)s::text IS NULL OR outcome = %(outcome)s)"
            " AND (%(since)s::timestamptz IS NULL OR time >= %(since)s)"
            " AND (%(until)s::timestamptz IS NULL OR time < %(until)s)"
            " ORDER BY time DESC, id DESC LIMIT %(limit)s",
            {"actor": actor, "action": action, "target": target, "outcome": outcome,
             "since": since, "until": until, "limit": limit},
        )
        return [AuditEntry(**row) for row in await cur.fetchall()]
