"""Raw rows of every rolled-up table, made up with a seed, and stored as the writer would."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from ioc.history.rollups import queue_targets
from tests.ioc.conftest import PACK

T0 = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)  # Monday 07:00 in Hanoi
HOURS = 3
NOW = T0 + timedelta(hours=HOURS, minutes=5)
DISTRICTS = ["001", "002", "005", None]
TARGETS = queue_targets(PACK)
POINTS = list(TARGETS)[:3]
ASSETS = {"parking": "site-1", "signals": "sig-2", "queues": POINTS[1], "brt": "01",
          "taps": "stop-3"}


def _at(rng: random.Random, start: datetime = T0, hours: float = HOURS) -> datetime:
    return start + timedelta(seconds=rng.uniform(0, hours * 3600))


Rows = dict[str, list[tuple[Any, ...]]]


def raw_rows(seed: int, start: datetime = T0, hours: float = HOURS) -> Rows:
    """Raw rows of every rolled-up table over `hours` from `start`, as the writer stores them."""
    rng = random.Random(seed)
    rows: dict[str, list[tuple[Any, ...]]] = {}
    parking = []
    for i in range(6):
        district = DISTRICTS[i % len(DISTRICTS)]
        for minute in range(int(hours * 60)):
            for kind, capacity in (("car", 60), ("motorbike", 250)):
                at = start + timedelta(minutes=minute, seconds=rng.uniform(0, 59))
                parking.append((at, f"site-{i}", kind, district, capacity,
                                rng.randint(0, capacity), "spacesAvailable"))
    rows["parking_occupancy"] = parking
    codes = [1, 4, 5, 6, 8, 45, 82, 82, 82, 84, 173, 102, 182]
    rows["signal_events"] = [
        (_at(rng, start, hours), f"sig-{i % 4}", code, 2 if code == 173 and rng.random() < 0.5
         else rng.randint(1, 8), DISTRICTS[i % 4])
        for i, code in enumerate(rng.choice(codes) for _ in range(3000))
    ]
    tickets = []
    for n in range(240):
        point = POINTS[n % len(POINTS)]
        district = DISTRICTS[n % 3]
        # Some tickets were issued before the range and are called inside it.
        issued = _at(rng, start - timedelta(minutes=30), hours)
        called = issued + timedelta(minutes=rng.uniform(0, 40))
        tickets.append((issued, point, f"t-{n}", "issued", "land", None, district))
        if rng.random() < 0.9:
            tickets.append((called, point, f"t-{n}", "called", "land", "c1", district))
            ended = called + timedelta(minutes=rng.uniform(1, 10))
            tickets.append((ended, point, f"t-{n}", "no_show" if rng.random() < 0.1
                            else "served", "land", "c1", district))
    rows["queue_ticket_events"] = tickets
    statuses = ["STOPPED_AT", "IN_TRANSIT_TO", "INCOMING_AT", None]
    occupancies = ["MANY_SEATS_AVAILABLE", "STANDING_ROOM_ONLY", "FULL", None]
    rows["brt_vehicle_positions"] = [
        (start + timedelta(seconds=10 * step + v), f"bus-{v}", None,
         "01" if v < 4 else None, 0, None, None, rng.choice(statuses), rng.choice(occupancies),
         105.8, 21.0, DISTRICTS[(step // 30 + v) % 4])
        for v in range(5) for step in range(int(hours * 360))
    ]
    rows["brt_taps"] = [(_at(rng, start, hours), f"hash-{n}", f"stop-{n % 5}", DISTRICTS[n % 4])
                        for n in range(800)]
    return rows


COLUMNS = {
    "parking_occupancy": "time, site_id, vehicle_type, district, capacity, occupied, status",
    "signal_events": "time, signal_id, event_code, parameter, district",
    "queue_ticket_events":
        "time, point_id, ticket_id, event, service_type, counter_id, district",
    "brt_vehicle_positions": "time, vehicle_id, trip_id, route_id, direction_id, stop_id,"
                             " stop_sequence, status, occupancy, lon, lat, district",
    "brt_taps": "time, card_hash, stop_id, district",
}


async def store(conn: psycopg.AsyncConnection, rows: Rows) -> None:
    """COPY raw rows into their tables."""
    for table, batch in rows.items():
        async with conn.cursor() as cur, cur.copy(
                f"COPY {table} ({COLUMNS[table]}) FROM STDIN".encode()) as copy:
            for row in batch:
                await copy.write_row(row)
