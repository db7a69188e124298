"""GET /api/health: database, Redis, storage mode, every feed's freshness, supervised tasks.

It answers 503 when the database or Redis is unreachable (the body still says which), so
that probes and container health checks fail; a lagging feed or a restarting task only
turns the status to "degraded".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from feeds.registry import feed_hours, lag_allowance
from feeds.schedule import Hours
from ioc.api.deps import State
from ioc.healthcheck import WELL
from ioc.settings import instance_name

router = APIRouter(tags=["health"])




class Component(BaseModel):
    """A dependency's reachability."""

    ok: bool
    error: str | None = None


class DatabaseHealth(Component):
    """The database, and whether TimescaleDB features are in use."""

    mode: str


class FeedStatus(BaseModel):
    """A feed's freshness and counts, as the writer and the runner recorded them."""

    status: str
    last_observation: datetime | None
    lag_seconds: float | None
    # The lag allowed before the feed is "lagging"; the dashboard judges its tiles by it.
    lag_allowance_s: float
    last_success: datetime | None
    last_error: str | None
    stored: int
    duplicates: int
    rejected: int
    rejected_by_reason: dict[str, int]
    rate_per_s: float
    outside_area: int
    # When an "idle" feed's source is next scheduled to report (its hours start again).
    scheduled_next: datetime | None = None


class TaskReport(BaseModel):
    """A supervised long-running task of a process."""

    name: str
    state: str
    restarts: int
    last_error: str | None = None


class Health(BaseModel):
    """The whole picture an operator checks first."""

    status: str
    checked_at: datetime
    database: DatabaseHealth
    redis: Component
    feeds: dict[str, FeedStatus]
    live_clients: int
    # This process's instance name, and the supervised tasks of every live process by name
    # (this one's, and those the workers report).
    process: str
    tasks: dict[str, list[TaskReport]]


def _stamp(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# Feed statuses that leave the whole system healthy: "idle" is a source outside its hours.
# "starting" is a poller's first lag allowance, before its first data is stored.
HEALTHY = frozenset({"ok", "idle", "starting"})


def feed_status(
    raw: dict[str, str], now: datetime, allowance_s: float, rate: float,
    reasons: dict[str, int], hours: Hours,
) -> FeedStatus:
    """Turn the recorded fields of a feed into its status (silent, failing, lagging, idle as
    its source's hours say, starting within an allowance of its poller's start, or ok)."""
    last_ms = raw.get("last_observation_ms")
    last = None if not last_ms else datetime.fromtimestamp(int(last_ms) / 1000, UTC)
    lag = None if last is None else round((now - last).total_seconds(), 3)
    standing = hours.standing(now, last, allowance_s)
    owed_lag = standing.lag_s(now, last)
    if last is None and not standing.idle:
        status = "silent"
    elif raw.get("last_error"):
        status = "failing"
    elif standing.idle:
        status = "idle"
    elif owed_lag is not None and owed_lag > allowance_s:
        status = "lagging"
    else:
        status = "ok"
    started = _stamp(raw.get("started"))
    if (status in ("silent", "lagging") and started is not None
            and (now - started).total_seconds() < allowance_s):
        status = "starting"
    return FeedStatus(
        status=status,
        last_observation=last,
        lag_seconds=lag,
        lag_allowance_s=allowance_s,
        last_success=_stamp(raw.get("last_success")),
        last_error=raw.get("last_error") or None,
        stored=int(raw.get("stored_total", 0)),
        duplicates=int(raw.get("duplicates_total", 0)),
        rejected=int(raw.get("rejected_total", 0)),
        rejected_by_reason=reasons,
        rate_per_s=round(rate, 2),
        outside_area=int(raw.get("outside", 0)),
        scheduled_next=standing.resumes if status == "idle" else None,
    )


@router.get("/api/health", response_model=Health,
            responses={503: {"model": Health,
                             "description": "The database or Redis is unreachable"}})
async def health(state: State, response: Response) -> Any:
    """Report the database, Redis, storage mode, each feed's last observation and lag, and
    the supervised tasks of this process and of every worker."""
    now = state.clock.now()
    process = instance_name()
    tasks = {process: [TaskReport(name=t.name, state=t.state, restarts=t.restarts,
                                  last_error=t.last_error) for t in state.hub.tasks]}
    database = DatabaseHealth(ok=True, mode=state.mode)
    try:
        async with state.pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")
    except Exception as err:  # noqa: BLE001 - any failure is the answer here
        database = DatabaseHealth(ok=False, mode=state.mode, error=str(err))
    redis = Component(ok=True)
    feeds: dict[str, FeedStatus] = {}
    reports: dict[str, list[dict[str, Any]]] = {}
    try:
        await state.bus.redis.ping()
        for feed in state.settings.feeds:
            allowance = lag_allowance(feed, state.clock.speed)
            feeds[feed] = feed_status(
                await state.bus.health(feed), now, allowance, await state.bus.rate(feed),
                await state.bus.rejects_by_reason(feed), feed_hours(feed, state.pack),
            )
        reports = await state.bus.task_reports()
    except Exception as err:  # noqa: BLE001
        redis = Component(ok=False, error=str(err))
    for name, reported in reports.items():
        tasks.setdefault(name, []).extend(TaskReport(**t) for t in reported)
    reachable = database.ok and redis.ok
    if not reachable:
        response.status_code = 503
    healthy = (reachable and all(f.status in HEALTHY for f in feeds.values())
               and all(t.state in WELL for listed in tasks.values() for t in listed))
    return Health(
        status="ok" if healthy else "degraded",
        checked_at=now,
        database=database,
        redis=redis,
        feeds=feeds,
        live_clients=state.hub.client_count,
        process=process,
        tasks=tasks,
    )
