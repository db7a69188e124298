"""Fault requests on a Redis channel: any process asks, the workers running simulators act."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from datetime import datetime
from typing import Any

import orjson

from feeds.clock import Clock
from feeds.faults import FaultError, FaultRequest, inject
from ioc.bus import RedisBus

logger = logging.getLogger(__name__)


def _channel(bus: RedisBus) -> str:
    return f"{bus.prefix}:control:faults"


async def request_fault(bus: RedisBus, request: FaultRequest) -> int:
    """Ask the workers to inject a fault; return how many workers heard it."""
    request.check()
    receivers: Any = await bus.redis.publish(
        _channel(bus), orjson.dumps(dataclasses.asdict(request))
    )
    return int(receivers)


async def listen_for_faults(bus: RedisBus, simulators: dict[str, object],
                            stop: asyncio.Event, clock: Clock) -> None:
    """Apply fault requests to this worker's simulators, from the clock's now, until `stop`."""
    pubsub = bus.redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(_channel(bus))
    try:
        while not stop.is_set():
            message = await pubsub.get_message(timeout=1.0)
            if message is not None:
                _apply(simulators, message["data"], clock.now())
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            await pubsub.aclose()  # type: ignore[no-untyped-call]


def _apply(simulators: dict[str, object], raw: bytes, now: datetime) -> None:
    try:
        request = FaultRequest(**orjson.loads(raw))
    except (orjson.JSONDecodeError, TypeError) as err:
        logger.warning("ignored a malformed fault request: %s", err)
        return
    simulator = simulators.get(request.feed)
    if simulator is None:
        return  # another worker runs that feed
    try:
        done = inject(simulator, request, now)
    except FaultError as err:
        logger.warning("fault request refused: %s", err)
        return
    logger.warning("fault injected on demand: %s", done)
