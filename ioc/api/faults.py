"""POST /api/simulator/faults: break something in the simulated city, for demos and drills."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from feeds.faults import FaultError, FaultRequest
from ioc.api.deps import Operator, State
from ioc.audit import record
from ioc.control import request_fault

router = APIRouter(tags=["simulator"])


class FaultBody(BaseModel):
    """A fault to inject: feed, kind, target id, duration and kind-specific extras."""

    feed: str
    kind: str
    target: str | None = None
    minutes: float = Field(10.0, gt=0, le=1440)
    direction: int = Field(0, ge=0, le=1)
    value: int | None = None


class FaultAccepted(BaseModel):
    """How many workers heard the request."""

    receivers: int


@router.post("/api/simulator/faults", response_model=FaultAccepted, status_code=202)
async def inject_fault(state: State, user: Operator, body: FaultBody) -> FaultAccepted:
    """Inject a fault into a running simulator (signal flash, bunching, a car park filling…)."""
    request = FaultRequest(**body.model_dump())
    try:
        receivers = await request_fault(state.bus, request)
    except FaultError as err:
        raise HTTPException(422, str(err)) from err
    if receivers == 0:
        raise HTTPException(409, "no worker is running a simulator to receive it")
    async with state.pool.connection() as conn:
        await record(conn, user, "simulator.fault", body.target or body.feed,
                     detail=body.model_dump())
    return FaultAccepted(receivers=receivers)
