"""Users in PostgreSQL: creation, sign-in checks, changes, and the first accounts."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from ioc.auth.passwords import check_password, hash_password
from ioc.auth.roles import Principal, Role
from ioc.settings import DEV_PASSWORD, Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class User:
    """A user as an administrator sees it (never with the hash)."""

    username: str
    role: Role
    display_name: str | None
    disabled: bool
    created_at: datetime
    updated_at: datetime


_COLUMNS = "username, role, display_name, disabled, created_at, updated_at"


def _user(row: dict[str, Any]) -> User:
    return User(row["username"], Role(row["role"]), row["display_name"], row["disabled"],
                row["created_at"], row["updated_at"])


async def create_user(conn: AsyncConnection[Any], username: str, role: Role, password: str,
                      display_name: str | None = None) -> User:
    """Add a user; raises psycopg's UniqueViolation when the name is taken."""
    # Hashing takes tens of milliseconds of CPU on purpose: off the event loop with it.
    hashed = await asyncio.to_thread(hash_password, password)
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"INSERT INTO users (username, role, password_hash, display_name) "
        f"VALUES (%s, %s, %s, %s) RETURNING {_COLUMNS}",
        (username, role.value, hashed, display_name),
    )
    row = await cur.fetchone()
    assert row is not None
    return _user(row)


async def list_users(conn: AsyncConnection[Any]) -> list[User]:
    """Every user, by name."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_COLUMNS} FROM users ORDER BY username")
    return [_user(row) for row in await cur.fetchall()]


async def update_user(conn: AsyncConnection[Any], username: str, *, role: Role | None = None,
                      password: str | None = None, display_name: str | None = None,
                      disabled: bool | None = None) -> User | None:
    """Change what is given; None when there is no such user."""
    hashed = await asyncio.to_thread(hash_password, password) if password else None
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"UPDATE users SET role = coalesce(%s, role),"
        f" password_hash = coalesce(%s, password_hash),"
        f" display_name = coalesce(%s, display_name), disabled = coalesce(%s, disabled),"
        f" updated_at = now() WHERE username = %s RETURNING {_COLUMNS}",
        (role.value if role else None, hashed,
         display_name, disabled, username),
    )
    row = await cur.fetchone()
    return None if row is None else _user(row)


async def authenticate(conn: AsyncConnection[Any], username: str,
                       password: str) -> Principal | None:
    """The principal for a correct name and password of an enabled user, else None."""
    row = await (await conn.execute(
        "SELECT role, password_hash, disabled FROM users WHERE username = %s", (username,)
    )).fetchone()
    matches = await asyncio.to_thread(check_password, row[1] if row else None, password)
    if not matches or row is None or row[2]:
        return None
    return Principal(username, Role(row[0]))


async def active_principal(conn: AsyncConnection[Any], username: str) -> Principal | None:
    """The user's current role, or None if removed or disabled (checked on every refresh)."""
    row = await (await conn.execute(
        "SELECT role FROM users WHERE username = %s AND NOT disabled", (username,)
    )).fetchone()
    return None if row is None else Principal(username, Role(row[0]))


async def ensure_first_users(pool: AsyncConnectionPool, settings: Settings) -> None:
    """Create the first accounts when there are none.

    Development gets one user per role (admin, operator, planner, viewer), all with the
    bootstrap password or the documented development one. Production gets only the
    administrator, and only with a configured password.
    """
    auth = settings.auth
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        if (await (await conn.execute("SELECT 1 FROM users LIMIT 1")).fetchone()) is not None:
            return
        if settings.environment == "production":
            if auth.bootstrap_password is None:
                logger.error("no users exist: set IOC_AUTH__BOOTSTRAP_PASSWORD to create %r",
                             auth.bootstrap_admin)
                return
            await create_user(conn, auth.bootstrap_admin, Role.ADMIN, auth.bootstrap_password)
            return
        password = auth.bootstrap_password or DEV_PASSWORD
        for role in Role:
            name = auth.bootstrap_admin if role is Role.ADMIN else role.value
            await create_user(conn, name, role, password)
        logger.warning("development users created (admin, operator, planner, viewer) with "
                       "password %r", password)
