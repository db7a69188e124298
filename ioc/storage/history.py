"""Reads of stored history that the measures need, rebuilt as the feeds' own observations."""

from __future__ import annotations

from datetime import datetime

import psycopg

from feeds.queues.model import CounterSnapshot, TicketEvent
from feeds.signals.events import SignalEvent
from feeds.transit.headways import Arrival


async def signal_events(
    conn: psycopg.AsyncConnection, signal_id: str, start: datetime, end: datetime
) -> list[SignalEvent]:
    """One signal's controller events in [start, end), in time order."""
    cur = await conn.execute(
        "SELECT signal_id, time, event_code, parameter FROM signal_events"
        " WHERE signal_id = %s AND time >= %s AND time < %s ORDER BY time, event_code",
        (signal_id, start, end),
    )
    return [SignalEvent(sid, time, code, parameter) for sid, time, code, parameter
            in await cur.fetchall()]


async def queue_history(
    conn: psycopg.AsyncConnection, point_id: str, start: datetime, end: datetime
) -> tuple[list[TicketEvent], list[CounterSnapshot]]:
    """One desk's ticket events and counter snapshots in [start, end)."""
    cur = await conn.execute(
        "SELECT point_id, ticket_id, event, time, service_type, counter_id"
        " FROM queue_ticket_events WHERE point_id = %s AND time >= %s AND time < %s",
        (point_id, start, end),
    )
    events = [TicketEvent(p, t, e, at, s, c, float("nan"), float("nan"))
              for p, t, e, at, s, c in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT point_id, time, counters_open, waiting FROM queue_counter_snapshots"
        " WHERE point_id = %s AND time >= %s AND time < %s ORDER BY time",
        (point_id, start, end),
    )
    snapshots = [CounterSnapshot(p, at, n, waiting, float("nan"), float("nan"))
                 for p, at, n, waiting in await cur.fetchall()]
    return events, snapshots


async def brt_arrivals(
    conn: psycopg.AsyncConnection, start: datetime, end: datetime
) -> list[Arrival]:
    """Arrivals made in [start, end): each stop's latest report of an arrival in the past."""
    cur = await conn.execute(
        "SELECT DISTINCT ON (trip_id, start_date, start_time, stop_sequence, stop_id)"
        " route_id, direction_id, stop_id, vehicle_id, trip_id, start_date, start_time,"
        " arrival_time FROM brt_stop_events"
        " WHERE arrival_time >= %s AND arrival_time < %s AND arrival_time <= time"
        " ORDER BY trip_id, start_date, start_time, stop_sequence, stop_id, time DESC",
        (start, end),
    )
    return [
        Arrival(route, direction, stop, vehicle, trip or None,
                f"{date} {start_time}".strip() or None, at)
        for route, direction, stop, vehicle, trip, date, start_time, at in await cur.fetchall()
    ]
