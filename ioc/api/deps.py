"""Dependency aliases that hand routes the process's resources and the acting user."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket, WebSocketException, status

from ioc.audit import record
from ioc.auth.oidc import token_issuer
from ioc.auth.roles import Principal, Role
from ioc.auth.tokens import TokenError, verify
from ioc.state import AppState


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.ioc
    return state


def _ws_state(websocket: WebSocket) -> AppState:
    state: AppState = websocket.app.state.ioc
    return state


State = Annotated[AppState, Depends(_state)]
WsState = Annotated[AppState, Depends(_ws_state)]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in: a Bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    return token.strip()


async def _principal(state: AppState, token: str) -> Principal:
    """Who a token names: one of ours, or the configured OpenID Connect provider's."""
    if state.oidc is not None and token_issuer(token) == state.oidc.issuer:
        return await asyncio.to_thread(state.oidc.verify, token)
    principal, _ = verify(state.settings.auth.secret, token, "access")
    return principal


async def _refuse(state: AppState, actor: str, reason: str, target: str, ip: str | None) -> None:
    async with state.pool.connection() as conn:
        await record(conn, actor, "auth.refused", target, outcome="refused", ip=ip,
                     detail={"reason": reason})


async def authorise(state: AppState, token: str, needed: Role, target: str,
                    ip: str | None) -> Principal:
    """The principal of `token` if its role includes `needed`; refusals are audited."""
    try:
        principal = await _principal(state, token)
    except TokenError as err:
        await _refuse(state, "(invalid token)", str(err), target, ip)
        raise
    if not principal.may(needed):
        await _refuse(state, principal.username, f"needs {needed.value}", target, ip)
        raise PermissionError(f"this needs the {needed.value} role; you are {principal.role}")
    return principal


def require(needed: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that admits users whose role includes `needed`, and returns who they are."""

    async def check(request: Request) -> Principal:
        state: AppState = request.app.state.ioc
        target = f"{request.method} {request.url.path}"
        ip = request.client.host if request.client else None
        try:
            return await authorise(state, _bearer(request), needed, target, ip)
        except TokenError as err:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(err),
                                headers={"WWW-Authenticate": "Bearer"}) from err
        except PermissionError as err:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(err)) from err

    return check


def require_ws(needed: Role) -> Callable[[WebSocket], Awaitable[Principal]]:
    """The WebSocket form: browsers cannot set headers there, so the token is `?token=`."""

    async def check(websocket: WebSocket) -> Principal:
        state: AppState = websocket.app.state.ioc
        ip = websocket.client.host if websocket.client else None
        token = websocket.query_params.get("token", "")
        if not token:
            raise WebSocketException(status.WS_1008_POLICY_VIOLATION,
                                     "sign in: a ?token= access token is required")
        try:
            return await authorise(state, token, needed, f"WS {websocket.url.path}", ip)
        except (TokenError, PermissionError) as err:
            raise WebSocketException(status.WS_1008_POLICY_VIOLATION, str(err)) from err

    return check


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Planner = Annotated[Principal, Depends(require(Role.PLANNER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
WsViewer = Annotated[Principal, Depends(require_ws(Role.VIEWER))]
