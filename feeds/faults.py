"""Faults injected into the simulators on demand: the demo's and the drills' lever."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.queues.simulator import QueueSimulator
from feeds.signals.faults import Fault
from feeds.signals.simulator import SignalSimulator
from feeds.simulator import ParkingSimulator
from feeds.transit.sim_faults import Breakdown, Bunching, Gap
from feeds.transit.simulator import BrtSimulator

KINDS: dict[str, tuple[str, ...]] = {
    "parking": ("filling",),
    "signals": ("flash", "stuck_detector", "power_failure"),
    "queues": ("surge",),
    "brt_vehicles": ("bunching", "gap", "breakdown"),
    "brt_trips": ("bunching", "gap", "breakdown"),
}


class FaultError(ValueError):
    """A fault request that does not fit the feed or its simulation."""


@dataclass(frozen=True, slots=True)
class FaultRequest:
    """What to break, where, and for how long."""

    feed: str
    kind: str
    target: str | None = None
    minutes: float = 10.0
    direction: int = 0
    value: int | None = None

    def check(self) -> None:
        """Refuse a kind the feed cannot have, or a duration out of reason."""
        if self.kind not in KINDS.get(self.feed, ()):
            raise FaultError(f"feed {self.feed!r} has no fault {self.kind!r}; "
                             f"it has {', '.join(KINDS.get(self.feed, ())) or 'none'}")
        if not 0 < self.minutes <= 24 * 60:
            raise FaultError("minutes must be in (0, 1440]")


def inject(simulator: object, request: FaultRequest, now: datetime) -> str:
    """Apply a fault to a running simulator; return what was done, for the log."""
    request.check()
    end = now + timedelta(minutes=request.minutes)
    if isinstance(simulator, ParkingSimulator):
        try:
            simulator.fill(_target(request), request.minutes)
        except KeyError as err:
            raise FaultError(str(err)) from err
    elif isinstance(simulator, SignalSimulator):
        target = _target(request)
        if target not in simulator.signal_ids:
            raise FaultError(f"no signal {target!r} in the simulation")
        extra = {} if request.value is None else {"value": request.value}
        simulator.inject(Fault(target, request.kind, now, end, **extra))  # type: ignore[arg-type]
    elif isinstance(simulator, QueueSimulator):
        points = None if request.target is None else [request.target]
        simulator.inject_surge(float(request.value or 3), request.minutes, points)
    elif isinstance(simulator, BrtSimulator):
        if request.kind == "bunching":
            simulator.inject(Bunching(request.direction))
        elif request.kind == "gap":
            simulator.inject(Gap(request.direction))
        else:
            simulator.inject(Breakdown(request.direction, duration_s=request.minutes * 60))
    else:
        raise FaultError(f"feed {request.feed!r} is not running on a simulator here")
    return f"{request.kind} on {request.feed}/{request.target or 'all'} for {request.minutes} min"


def _target(request: FaultRequest) -> str:
    if request.target is None:
        raise FaultError(f"a {request.kind} fault needs a target id")
    return request.target
