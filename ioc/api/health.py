"""GET /api/health: database, Redis, storage mode, and every feed's freshness."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from feeds.registry import LAG_ALLOWANCE_S
from ioc.api.deps import State

router = APIRouter(tags=["health"])

DEFAULT_ALLOWANCE_S = 60.0



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
    last_success: datetime | None
    last_error: str | None
    stored: int
    duplicates: int
    rejected: int
    rejected_by_reason: dict[str, int]
    rate_per_s: float
    outside_area: int


class Health(BaseModel):
    """The whole picture an operator checks first."""

    status: str
    checked_at: datetime
    database: DatabaseHealth
    redis: Component
    feeds: dict[str, FeedStatus]
    live_clients: int


def _stamp(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def feed_status(
    raw: dict[str, str], now: datetime, allowance_s: float, rate: float,
    reasons: dict[str, int],
) -> FeedStatus:
    """Turn the recorded fields of a feed into its status (silent, failing, lagging, ok)."""
    last_ms = raw.get("last_observation_ms")
    last = None if not last_ms else datetime.fromtimestamp(int(last_ms) / 1000, UTC)
    lag = None if last is None else round((now - last).total_seconds(), 3)
    if last is None:
        status = "silent"
    elif raw.get("last_error"):
        status = "failing"
    elif lag is not None and lag > allowance_s:
        status = "lagging"
    else:
        status = "ok"
    return FeedStatus(
        status=status,
        last_observation=last,
        lag_seconds=lag,
        last_success=_stamp(raw.get("last_success")),
        last_error=raw.get("last_error") or None,
        stored=int(raw.get("stored_total", 0)),
        duplicates=int(raw.get("duplicates_total", 0)),
        rejected=int(raw.get("rejected_total", 0)),
        rejected_by_reason=reasons,
        rate_per_s=round(rate, 2),
        outside_area=int(raw.get("outside", 0)),
    )


@router.get("/api/health", response_model=Health)
async def health(state: State) -> Any:
    """Report the database, Redis, storage mode and each feed's last observation and lag."""
    now = datetime.now(UTC)
    database = DatabaseHealth(ok=True, mode=state.mode)
    try:
        async with state.pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")
    except Exception as err:  # noqa: BLE001 - any failure is the answer here
        database = DatabaseHealth(ok=False, mode=state.mode, error=str(err))
    redis = Component(ok=True)
    feeds: dict[str, FeedStatus] = {}
    try:
        await state.bus.redis.ping()
        for feed in state.settings.feeds:
            allowance = LAG_ALLOWANCE_S.get(feed, DEFAULT_ALLOWANCE_S)
            feeds[feed] = feed_status(
                await state.bus.health(feed), now, allowance, await state.bus.rate(feed),
                await state.bus.rejects_by_reason(feed),
            )
    except Exception as err:  # noqa: BLE001
        redis = Component(ok=False, error=str(err))
    healthy = database.ok and redis.ok and all(f.status == "ok" for f in feeds.values())
    return Health(
        status="ok" if healthy else "degraded",
        checked_at=now,
        database=database,
        redis=redis,
        feeds=feeds,
        live_clients=state.hub.client_count,
    )
