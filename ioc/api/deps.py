"""Dependency aliases that hand routes the process's resources."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, WebSocket

from ioc.state import AppState


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.ioc
    return state


def _ws_state(websocket: WebSocket) -> AppState:
    state: AppState = websocket.app.state.ioc
    return state


State = Annotated[AppState, Depends(_state)]
WsState = Annotated[AppState, Depends(_ws_state)]
