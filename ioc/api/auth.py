"""Sign-in: a name and password for a pair of tokens; refresh with rotation; sign-out."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from ioc.api.deps import State, Viewer
from ioc.audit import record
from ioc.auth.roles import Role
from ioc.auth.sessions import TokenPair, refresh, sign_out, token_pair
from ioc.auth.tokens import TokenError
from ioc.auth.users import authenticate

router = APIRouter(prefix="/api/auth", tags=["auth"])


class Credentials(BaseModel):
    """A user's name and password."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RefreshBody(BaseModel):
    """A refresh token, to trade for a new pair or to sign out."""

    refresh_token: str = Field(min_length=1, max_length=4096)


class Me(BaseModel):
    """Who is signed in."""

    username: str
    role: Role


class Tokens(BaseModel):
    """A signed-in session's tokens; send the access token as `Authorization: Bearer`."""

    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    user: Me


def _tokens(pair: TokenPair) -> Tokens:
    return Tokens(access_token=pair.access_token, refresh_token=pair.refresh_token,
                  expires_in=pair.expires_in,
                  user=Me(username=pair.principal.username, role=pair.principal.role))


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/login", response_model=Tokens)
async def login(body: Credentials, request: Request, state: State) -> Tokens:
    """Sign in with a name and password."""
    async with state.pool.connection() as conn:
        principal = await authenticate(conn, body.username, body.password)
        if principal is None:
            await record(conn, body.username, "auth.login", outcome="refused", ip=_ip(request),
                         detail={"reason": "wrong name or password, or disabled"})
        else:
            await record(conn, principal, "auth.login", ip=_ip(request))
    # Raised outside the connection's block, which would otherwise roll the record back.
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong name or password")
    return _tokens(token_pair(state.settings.auth, principal))


@router.post("/refresh", response_model=Tokens)
async def refresh_tokens(body: RefreshBody, request: Request, state: State) -> Tokens:
    """Trade a refresh token (once) for a new pair carrying the user's current role."""
    async with state.pool.connection() as conn:
        try:
            pair = await refresh(conn, state.settings.auth, body.refresh_token)
        except TokenError as err:
            refusal = err
            await conn.rollback()
            await record(conn, "(refresh)", "auth.refresh", outcome="refused", ip=_ip(request),
                         detail={"reason": str(err)})
        else:
            return _tokens(pair)
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(refusal)) from refusal


@router.post("/logout", status_code=204, response_class=Response)
async def logout(body: RefreshBody, request: Request, state: State) -> Response:
    """Sign out: the session's refresh token stops working."""
    async with state.pool.connection() as conn:
        try:
            principal = await sign_out(conn, state.settings.auth, body.refresh_token)
        except TokenError as err:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(err)) from err
        await record(conn, principal, "auth.logout", ip=_ip(request))
    return Response(status_code=204)


@router.get("/me", response_model=Me)
async def me(user: Viewer) -> Me:
    """The signed-in user."""
    return Me(username=user.username, role=user.role)
