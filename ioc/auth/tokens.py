"""Short-lived access tokens and longer refresh tokens, signed with the service's secret."""

from __future__ import annotations

import time
import uuid
from typing import Literal

import jwt

from ioc.auth.roles import Principal, Role

TokenKind = Literal["access", "refresh"]
_ALGORITHM = "HS256"
_ISSUER = "hanoi-ioc"


class TokenError(ValueError):
    """A token that is malformed, forged, expired, or of the wrong kind."""


def issue(secret: str, principal: Principal, kind: TokenKind, ttl_s: int) -> str:
    """A signed token naming the user and role, valid for `ttl_s` seconds."""
    now = int(time.time())
    claims = {"iss": _ISSUER, "sub": principal.username, "role": principal.role.value,
              "typ": kind, "iat": now, "exp": now + ttl_s, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify(secret: str, token: str, kind: TokenKind) -> tuple[Principal, str]:
    """The principal a valid token of `kind` names, and the token's id."""
    try:
        claims = jwt.decode(token, secret, algorithms=[_ALGORITHM], issuer=_ISSUER,
                            options={"require": ["exp", "sub", "typ", "jti"]})
    except jwt.ExpiredSignatureError as err:
        raise TokenError("the token has expired") from err
    except jwt.PyJWTError as err:
        raise TokenError(f"invalid token: {err}") from err
    if claims.get("typ") != kind:
        raise TokenError(f"a {kind} token is needed here")
    try:
        role = Role(str(claims.get("role")))
    except ValueError as err:
        raise TokenError("the token names no known role") from err
    return Principal(str(claims["sub"]), role), str(claims["jti"])
