"""Faults the BRT simulator can be told to produce, on demand or at a set time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Bunching:
    """Hold one bus at its next stop until the bus behind catches it up.

    The hold defaults to how far the follower runs behind, so the two leave that stop
    together; dwell dynamics (the leader now picks up more riders, the follower fewer) keep
    them together downstream, as bunched buses stay in real service.
    """

    direction_id: int
    at: datetime | None = None
    hold_s: float | None = None


@dataclass(frozen=True, slots=True)
class Gap:
    """Cancel the next departures from one terminal (two: a triple headway)."""

    direction_id: int
    at: datetime | None = None
    departures: int = 2


@dataclass(frozen=True, slots=True)
class Breakdown:
    """One bus stops halfway between two stations for a while, then goes on."""

    direction_id: int
    at: datetime | None = None
    duration_s: float = 600.0


Fault = Bunching | Gap | Breakdown


class AppliedFault(NamedTuple):
    """A fault as it took effect: when, which kind, where, and on which bus if one."""

    at: datetime
    kind: str  # "bunching", "gap" or "breakdown"
    direction_id: int
    vehicle_id: str | None
