"""Situations: list and filter, one with its history, the operators' actions, and the wall's
"what changed" summary. Every action is audited and pushed on the live stream."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from ioc.api.deps import Operator, State, Viewer
from ioc.situations import actions
from ioc.situations.changes import recent_changes
from ioc.situations.live import publish_change
from ioc.situations.store import SituationChange
from ioc.situations.views import (
    NOT_CLOSED,
    SEVERITIES,
    STATUSES,
    Filter,
    list_situations,
    situation_detail,
)
from ioc.state import AppState

router = APIRouter(tags=["situations"])

Many = Annotated[list[str] | None, Query()]


class ResolveBody(BaseModel):
    """An optional note on how it was resolved."""

    note: str | None = Field(None, max_length=4000)


class AssignBody(BaseModel):
    """Who takes the situation."""

    assignee: str = Field(min_length=1, max_length=64)


class CommentBody(BaseModel):
    """An operator's comment."""

    text: str = Field(min_length=1, max_length=4000)


class TickBody(BaseModel):
    """Whether the checklist item is done."""

    done: bool


def _check(values: list[str] | None, allowed: tuple[str, ...], name: str) -> None:
    bad = sorted(set(values or ()) - set(allowed))
    if bad:
        raise HTTPException(422, f"unknown {name} {bad}; use {', '.join(allowed)}")


@router.get("/api/situations")
async def situations(
    state: State, _user: Viewer, status: Many = None, severity: Many = None,
    type: Many = None, district: Many = None,  # noqa: A002 - the contract's name
    since: datetime | None = None, until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """Situations, newest first; by default every one not closed. `since`/`until` keep the
    situations open at some moment of that interval. Parameters may repeat."""
    _check(status, STATUSES, "status")
    _check(severity, SEVERITIES, "severity")
    where = Filter(status or NOT_CLOSED, severity, type, district, since, until, limit)
    async with state.pool.connection() as conn:
        return {"situations": await list_situations(conn, where)}


@router.get("/api/situations/changes")
async def changes(
    state: State, _user: Viewer, minutes: Annotated[float, Query(gt=0, le=1440)] = 15,
) -> dict[str, Any]:
    """Opened, escalated and resolved in the last minutes, and districts worse or better
    (pressure: open situations weighted info 1, minor 2, major 4, critical 8)."""
    async with state.pool.connection() as conn:
        return await recent_changes(conn, minutes, state.clock.now())


@router.get("/api/situations/{situation_id}")
async def situation(state: State, _user: Viewer, situation_id: int) -> dict[str, Any]:
    """One situation with its history, comments, checklist, alerts and evidence."""
    async with state.pool.connection() as conn:
        try:
            return await situation_detail(conn, situation_id)
        except LookupError as err:
            raise HTTPException(404, str(err)) from err


Act = Callable[[psycopg.AsyncConnection], Awaitable[SituationChange]]


async def _act(state: AppState, act: Act) -> dict[str, Any]:
    """Run an action in one transaction, publish its change after commit, answer its summary."""
    try:
        async with state.pool.connection() as conn, conn.transaction():
            change = await act(conn)
    except LookupError as err:
        raise HTTPException(404, str(err)) from err
    except actions.Conflict as err:
        raise HTTPException(409, str(err)) from err
    except ValueError as err:
        raise HTTPException(422, str(err)) from err
    await publish_change(state.bus, change.change, change.situation)
    return change.situation


@router.post("/api/situations/{situation_id}/acknowledge")
async def acknowledge(state: State, user: Operator, situation_id: int) -> dict[str, Any]:
    """Open → acknowledged, recording who acknowledged."""
    return await _act(state, lambda c: actions.transition(
        c, user, situation_id, "acknowledge", now=state.clock.now()))


@router.post("/api/situations/{situation_id}/start")
async def start(state: State, user: Operator, situation_id: int) -> dict[str, Any]:
    """Open or acknowledged → in progress."""
    return await _act(state, lambda c: actions.transition(
        c, user, situation_id, "start", now=state.clock.now()))


@router.post("/api/situations/{situation_id}/resolve")
async def resolve(
    state: State, user: Operator, situation_id: int, body: ResolveBody | None = None
) -> dict[str, Any]:
    """Open, acknowledged or in progress → resolved, with an optional note."""
    note = None if body is None else body.note
    return await _act(state, lambda c: actions.transition(
        c, user, situation_id, "resolve", note, now=state.clock.now()))


@router.post("/api/situations/{situation_id}/close")
async def close(state: State, user: Operator, situation_id: int) -> dict[str, Any]:
    """Resolved → closed."""
    return await _act(state, lambda c: actions.transition(
        c, user, situation_id, "close", now=state.clock.now()))


@router.post("/api/situations/{situation_id}/assign")
async def assign(
    state: State, user: Operator, situation_id: int, body: AssignBody
) -> dict[str, Any]:
    """Give the situation to a user."""
    return await _act(state, lambda c: actions.assign(
        c, user, situation_id, body.assignee, now=state.clock.now()))


@router.post("/api/situations/{situation_id}/comment")
async def comment(
    state: State, user: Operator, situation_id: int, body: CommentBody
) -> dict[str, Any]:
    """Add a comment."""
    return await _act(state, lambda c: actions.comment(
        c, user, situation_id, body.text, now=state.clock.now()))


@router.post("/api/situations/{situation_id}/checklist/{item_id}")
async def checklist(
    state: State, user: Operator, situation_id: int, item_id: str, body: TickBody
) -> dict[str, Any]:
    """Tick or untick an item of the procedure's checklist."""
    return await _act(state, lambda c: actions.tick(
        c, user, situation_id, item_id, body.done, now=state.clock.now()))
