"""One good and one malformed payload per feed, in each feed's own wire format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from feeds.queues.online_feed import OnlineSimulator
from feeds.sessions_simulator import SessionSimulator
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.simulator import BrtSimulator
from feeds.transit.taps_feed import TapSimulator
from geo import load_pack
from ioc.settings import PROJECT_ROOT

MONDAY_10_HANOI = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _brt() -> BrtSimulator:
    simulator = BrtSimulator(load_gtfs(PROJECT_ROOT / "packs" / "hanoi" / "brt"),
                             now=lambda: MONDAY_10_HANOI)
    simulator.advance_to(MONDAY_10_HANOI)
    return simulator


def _early(hour: int) -> datetime:
    # Small payloads: the simulators that replay the day so far start from local midnight.
    return datetime(2026, 11, 22, 17, 0, tzinfo=UTC) + timedelta(hours=hour, minutes=10)


def samples() -> dict[str, tuple[bytes, bytes]]:
    """feed -> (a good payload, a malformed one)."""
    pack = load_pack(PROJECT_ROOT / "packs" / "hanoi")
    sessions = SessionSimulator(pack.asset_features("parking"),
                                now=lambda: _early(0)).snapshot_bytes()
    online = OnlineSimulator(pack.layer("districts").codes, now=lambda: _early(9)).snapshot_bytes()
    taps = TapSimulator(load_gtfs(pack.root / "brt"), now=lambda: _early(5)).taps_bytes()
    plated = {"session_id": "s-1", "site_id": "hk-ly-thuong-kiet", "vehicle_type": "car",
              "started_at": "2026-11-23T07:00:00+07:00", "plate": "29A-123.45"}
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
        "parking_sessions": (sessions, orjson.dumps({"sessions": [plated]})),
        "online_services": (online, orjson.dumps({"applications": [
            {"district": "001", "day": "2026-11-23", "level": 2, "applications": 5}]})),
        "brt_taps": (taps, taps[:40]),
    }
