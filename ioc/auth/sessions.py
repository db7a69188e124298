"""Sign-in sessions: a pair of tokens, refresh with rotation, and sign-out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection

from ioc.auth.roles import Principal
from ioc.auth.tokens import TokenError, issue, verify
from ioc.auth.users import active_principal
from ioc.settings import AuthSettings


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a sign-in or a refresh hands out."""

    access_token: str
    refresh_token: str
    expires_in: int
    principal: Principal


def token_pair(auth: AuthSettings, principal: Principal) -> TokenPair:
    """A new access token and refresh token for `principal`."""
    return TokenPair(
        issue(auth.secret, principal, "access", auth.access_ttl_s),
        issue(auth.secret, principal, "refresh", auth.refresh_ttl_s),
        auth.access_ttl_s, principal,
    )


async def _revoke(conn: AsyncConnection[Any], auth: AuthSettings, token: str) -> Principal:
    """Revoke a refresh token once; a second use (a stolen copy, say) is refused."""
    principal, jti = verify(auth.secret, token, "refresh")
    await conn.execute("DELETE FROM revoked_tokens WHERE expires_at < now()")
    cur = await conn.execute(
        "INSERT INTO revoked_tokens (jti, expires_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (jti, datetime.fromtimestamp(datetime.now(UTC).timestamp() + auth.refresh_ttl_s, UTC)),
    )
    if cur.rowcount == 0:
        raise TokenError("this refresh token has already been used or signed out")
    return principal


async def refresh(conn: AsyncConnection[Any], auth: AuthSettings, token: str) -> TokenPair:
    """Trade a refresh token for a new pair, with the user's current role."""
    principal = await _revoke(conn, auth, token)
    current = await active_principal(conn, principal.username)
    if current is None:
        raise TokenError("this user no longer exists or is disabled")
    return token_pair(auth, current)


async def sign_out(conn: AsyncConnection[Any], auth: AuthSettings, token: str) -> Principal:
    """End a session: its refresh token can no longer be used."""
    return await _revoke(conn, auth, token)
