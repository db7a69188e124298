"""One good and one malformed payload per feed, in each feed's own wire format."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.simulator import BrtSimulator
from ioc.settings import PROJECT_ROOT

MONDAY_10_HANOI = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _brt() -> BrtSimulator:
    simulator = BrtSimulator(load_gtfs(PROJECT_ROOT / "packs" / "hanoi" / "brt"),
                             now=lambda: MONDAY_10_HANOI)
    simulator.advance_to(MONDAY_10_HANOI)
    return simulator


def samples() -> dict[str, tuple[bytes, bytes]]:
    """feed -> (a good payload, a malformed one)."""
    brt = _brt()
    positions, updates = brt.vehicle_positions(), brt.trip_updates()
    site = {"id": "hk-ly-thuong-kiet", "lon": 105.8468, "lat": 21.0246, "open": True,
            "observed_at": "2026-11-23T10:00:00+07:00",
            "vehicles": {"car": {"capacity": 60, "occupied": 12}}}
    ticket = {"kind": "ticket", "point_id": "mc-001-ba-dinh", "ticket_id": "20261123-0001",
              "event": "issued", "at": "2026-11-23T10:00:00+07:00",
              "service_type": "civil_status"}
    event = {"signal_id": "sig-kim-ma-giang-van-minh", "time": "2026-11-23T10:00:00.1+07:00",
             "event_code": 82, "parameter": 5}
    return {
        "parking": (orjson.dumps({"sites": [site]}),
                    orjson.dumps({"sites": [{**site, "lat": "north"}]})),
        "queues": (orjson.dumps(ticket) + b"\n",
                   orjson.dumps({**ticket, "event": "teleported"}) + b"\n"),
        "signals": (orjson.dumps(event) + b"\n", orjson.dumps(event)[:25] + b"\n"),
        # Truncated protobuf: the whole message is unreadable.
        "brt_vehicles": (positions, positions[: len(positions) // 2]),
        "brt_trips": (updates, updates[: len(updates) // 3]),
    }
