"""Dependency aliases that hand routes the process's resources and the acting user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket, WebSocketException, status

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


def require(needed: Role) -> Callable[[Request], Principal]:
    """A dependency that admits users whose role includes `needed`, and returns who they are."""

    def check(request: Request) -> Principal:
        state: AppState = request.app.state.ioc
        try:
            principal, _ = verify(state.settings.auth.secret, _bearer(request), "access")
        except TokenError as err:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(err),
                                headers={"WWW-Authenticate": "Bearer"}) from err
        if not principal.may(needed):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"this needs the {needed.value} role; you are {principal.role}")
        return principal

    return check


def require_ws(needed: Role) -> Callable[[WebSocket], Principal]:
    """The WebSocket form: browsers cannot set headers there, so the token is `?token=`."""

    def check(websocket: WebSocket) -> Principal:
        state: AppState = websocket.app.state.ioc
        token = websocket.query_params.get("token", "")
        try:
            principal, _ = verify(state.settings.auth.secret, token, "access")
        except TokenError as err:
            raise WebSocketException(status.WS_1008_POLICY_VIOLATION, str(err)) from err
        if not principal.may(needed):
            raise WebSocketException(status.WS_1008_POLICY_VIOLATION,
                                     f"this needs the {needed.value} role")
        return principal

    return check


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Planner = Annotated[Principal, Depends(require(Role.PLANNER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
WsViewer = Annotated[Principal, Depends(require_ws(Role.VIEWER))]
