"""API keys for feed sources: issued once, stored as SHA-256, rotated with a grace period."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as an administrator sees it: never its secret."""

    key_id: str
    feed: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def digest(key: str) -> str:
    """The SHA-256 under which a key is stored and looked up."""
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    key_id = secrets.token_hex(6)
    return key_id, f"ioc_{key_id}_{secrets.token_urlsafe(32)}"


async def create_key(conn: AsyncConnection[Any], feed: str, created_by: str) -> tuple[str, str]:
    """A new key for `feed`: its id and the secret, which is shown this once."""
    key_id, key = _new_key()
    await conn.execute(
        "INSERT INTO api_keys (key_id, feed, sha256, created_by) VALUES (%s, %s, %s, %s)",
        (key_id, feed, digest(key), created_by),
    )
    return key_id, key


async def rotate_key(conn: AsyncConnection[Any], key_id: str, grace_s: int,
                     actor: str) -> tuple[str, str, str] | None:
    """A replacement for a live key (its id, secret and feed); the old one keeps working for
    `grace_s` seconds."""
    row = await (await conn.execute(
        "UPDATE api_keys SET expires_at = least(coalesce(expires_at, 'infinity'),"
        " now() + make_interval(secs => %s)) WHERE key_id = %s AND revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > now()) RETURNING feed", (grace_s, key_id),
    )).fetchone()
    if row is None:
        return None
    feed = str(row[0])
    return (*await create_key(conn, feed, actor), feed)


async def revoke_key(conn: AsyncConnection[Any], key_id: str) -> bool:
    """Stop a key at once; False when there is no such live key."""
    cur = await conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE key_id = %s AND revoked_at IS NULL",
        (key_id,),
    )
    return cur.rowcount == 1


async def list_keys(conn: AsyncConnection[Any]) -> list[KeyInfo]:
    """Every key, newest first."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT key_id, feed, created_by, created_at, expires_at, revoked_at"
                      " FROM api_keys ORDER BY created_at DESC")
    return [KeyInfo(**row) for row in await cur.fetchall()]


async def feed_of_key(conn: AsyncConnection[Any], key: str) -> str | None:
    """The feed a live key may push to, or None if it is unknown, expired or revoked."""
    row = await (await conn.execute(
        "SELECT feed FROM api_keys WHERE sha256 = %s AND revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > now())", (digest(key),),
    )).fetchone()
    return None if row is None else str(row[0])
