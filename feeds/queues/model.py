"""Queue observations: per-ticket events and counter snapshots at one-stop-shop desks.

Privacy: a ticket is a number, a service type and four instants. It carries no name, no
citizen ID (CCCD/CMND), no phone and no address; the parser refuses records that try to
bring such fields, so none can reach the bus or the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from feeds.base import utc_text

# Qmatic-style ticket lifecycle: issued at the kiosk, called to a counter, then either served
# (the event's time is when service finished) or a no-show (called, nobody came).
EVENTS = ("issued", "called", "served", "no_show")
EVENTS_AT_A_COUNTER = frozenset({"called", "served"})


class TicketEvent(NamedTuple):
    """One step in one ticket's life, at the source's own time.

    Natural key (point_id, ticket_id, event): a replayed event is stored once, and a ticket
    called twice keeps its first call, the one that ends its wait. Ticket ids must be unique
    per service point over the retention period (queue systems restart numbering each day,
    so sources prefix the date: "20261123-0042").
    """

    point_id: str
    ticket_id: str
    event: str
    at: datetime
    service_type: str
    counter_id: str | None
    lon: float
    lat: float
    district: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """The natural key: (service point, ticket, event)."""
        return self.point_id, self.ticket_id, self.event

    def with_district(self, code: str | None) -> TicketEvent:
        """Return a copy tagged with its district code."""
        # Built directly: _replace is several times slower, and every event passes here.
        return TicketEvent(
            self.point_id, self.ticket_id, self.event, self.at, self.service_type,
            self.counter_id, self.lon, self.lat, code,
        )

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-ready form that travels on the bus (times in fixed-width UTC)."""
        return {
            "kind": "ticket",
            "point_id": self.point_id,
            "ticket_id": self.ticket_id,
            "event": self.event,
            "at": utc_text(self.at),
            "service_type": self.service_type,
            "counter_id": self.counter_id,
            "lon": self.lon,
            "lat": self.lat,
            "district": self.district,
        }


class CounterSnapshot(NamedTuple):
    """How many counters are open and how many people wait, per service type, at one instant.

    Natural key (point_id, at).
    """

    point_id: str
    at: datetime
    counters_open: int
    waiting: Mapping[str, int]
    lon: float
    lat: float
    district: str | None = None

    @property
    def key(self) -> tuple[str, datetime]:
        """The natural key: (service point, time)."""
        return self.point_id, self.at

    @property
    def waiting_total(self) -> int:
        """People waiting across all service types."""
        return sum(self.waiting.values())

    def with_district(self, code: str | None) -> CounterSnapshot:
        """Return a copy tagged with its district code."""
        return CounterSnapshot(
            self.point_id, self.at, self.counters_open, self.waiting, self.lon, self.lat, code
        )

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-ready form that travels on the bus (times in fixed-width UTC)."""
        return {
            "kind": "counters",
            "point_id": self.point_id,
            "at": utc_text(self.at),
            "counters_open": self.counters_open,
            "waiting": dict(self.waiting),
            "lon": self.lon,
            "lat": self.lat,
            "district": self.district,
        }


QueueObservation = TicketEvent | CounterSnapshot
