"""Per-feed storage bindings: how the writer decodes, stores and announces each feed's rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from ioc.storage.append import WriteResult
from ioc.storage.brt import (
    brt_vehicles,
    position_row,
    stop_event_row,
    write_positions,
    write_stop_events,
)
from ioc.storage.ledgers import (
    online_row,
    session_row,
    tap_row,
    write_online,
    write_sessions,
    write_taps,
)
from ioc.storage.parking import (
    ParkingRow,
    district_parking,
    parking_row,
    parking_sites,
    write_parking,
)
from ioc.storage.queues import QueueRow, district_queues, queue_points, queue_row, write_queues
from ioc.storage.signals import (
    SignalRow,
    district_signals,
    signal_row,
    signal_units,
    write_signals,
)


@dataclass(frozen=True, slots=True)
class LiveDelta:
    """A body to publish on one live stream."""

    stream: str
    body: bytes


@dataclass(frozen=True, slots=True)
class FeedTable:
    """The writer's view of one feed."""

    decode: Callable[[dict[str, Any]], Any]
    write: Callable[[psycopg.AsyncConnection, Sequence[Any]], Awaitable[WriteResult]]
    deltas: Callable[[psycopg.AsyncConnection, Sequence[Any]], Awaitable[list[LiveDelta]]]
    newest: Callable[[Sequence[Any]], datetime]


async def parking_deltas(
    conn: psycopg.AsyncConnection, rows: Sequence[ParkingRow]
) -> list[LiveDelta]:
    """Fresh figures for the districts and car parks a committed batch touched."""
    codes = sorted({r[3] for r in rows if r[3] is not None})
    site_ids = sorted({r[1] for r in rows})
    districts = await district_parking(conn, codes)
    sites = await parking_sites(conn, site_ids)
    return [
        LiveDelta(
            "districts",
            orjson.dumps(
                {"districts": [{"code": c, "parking": districts[c].to_json()}
                               for c in codes if c in districts]}
            ),
        ),
        LiveDelta("parking", orjson.dumps({"sites": sites})),
    ]


async def queue_deltas(conn: psycopg.AsyncConnection, rows: Sequence[QueueRow]) -> list[LiveDelta]:
    """Fresh waiting figures for the desks and districts whose counters a batch reported."""
    snapshots = [row for kind, row in rows if kind == "counters"]
    if not snapshots:
        return []
    codes = sorted({r[5] for r in snapshots if r[5] is not None})
    districts = await district_queues(conn, codes)
    points = await queue_points(conn, sorted({r[1] for r in snapshots}))
    body = {"districts": [{"code": c, "queues": districts[c]} for c in codes if c in districts],
            "points": points}
    return [LiveDelta("queues", orjson.dumps(body))]


async def brt_deltas(
    conn: psycopg.AsyncConnection, rows: Sequence[tuple[Any, ...]]
) -> list[LiveDelta]:
    """The latest position of every bus a batch reported."""
    vehicles = await brt_vehicles(conn, vehicle_ids=sorted({r[1] for r in rows}))
    return [LiveDelta("brt", orjson.dumps({"vehicles": vehicles}))]


async def no_deltas(conn: psycopg.AsyncConnection, rows: Sequence[Any]) -> list[LiveDelta]:
    """Feeds whose rows change nothing on the wall by themselves."""
    return []


async def signal_deltas(
    conn: psycopg.AsyncConnection, rows: Sequence[SignalRow]
) -> list[LiveDelta]:
    """Status changes of the units a batch touched, and their districts' figures."""
    statuses = [row for kind, row in rows if kind == "status"]
    if not statuses:
        return []
    codes = sorted({r[5] for r in statuses if r[5] is not None})
    districts = await district_signals(conn, codes)
    units = await signal_units(conn, sorted({r[1] for r in statuses}))
    body = {"districts": [{"code": c, "signals": districts[c]} for c in codes if c in districts],
            "units": units}
    return [LiveDelta("signals", orjson.dumps(body))]


def _newest_text(rows: Sequence[tuple[Any, ...]]) -> datetime:
    return datetime.fromisoformat(max(r[0] for r in rows))


TABLES: dict[str, FeedTable] = {
    "parking": FeedTable(
        decode=parking_row,
        write=write_parking,
        deltas=parking_deltas,
        newest=_newest_text,
    ),
    "queues": FeedTable(
        decode=queue_row,
        write=write_queues,
        deltas=queue_deltas,
        newest=lambda rows: datetime.fromisoformat(max(row[0] for _, row in rows)),
    ),
    "signals": FeedTable(
        decode=signal_row,
        write=write_signals,
        deltas=signal_deltas,
        newest=lambda rows: datetime.fromisoformat(max(row[0] for _, row in rows)),
    ),
    "parking_sessions": FeedTable(
        decode=session_row, write=write_sessions, deltas=no_deltas, newest=_newest_text,
    ),
    "online_services": FeedTable(
        decode=online_row, write=write_online, deltas=no_deltas,
        newest=lambda rows: datetime.fromisoformat(max(r[0] for r in rows)).replace(tzinfo=UTC),
    ),
    "brt_taps": FeedTable(
        decode=tap_row, write=write_taps, deltas=no_deltas, newest=_newest_text,
    ),
    "brt_vehicles": FeedTable(
        decode=position_row, write=write_positions, deltas=brt_deltas, newest=_newest_text,
    ),
    "brt_trips": FeedTable(
        decode=stop_event_row, write=write_stop_events, deltas=no_deltas, newest=_newest_text,
    ),
}
