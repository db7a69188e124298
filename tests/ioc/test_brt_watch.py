"""BRT headway readings from the simulated line, sampled as sparsely as a sped-up runner polls."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.clock import Clock
from feeds.transit.gtfs_realtime import parse_feed
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.simulator import BrtSimulator
from ioc.situations.readings import BrtWatch, Reading

PACK = Path(__file__).resolve().parents[2] / "packs" / "hanoi" / "brt"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def _headways(step_s: float, until: datetime) -> list[Reading]:
    """Headway readings of a fault-free morning, positions polled every `step_s` from 05:55:20
    (20 s past each dispatch, so a 12 s dwell at the terminal falls between two polls)."""
    static = load_gtfs(PACK)
    clock = Clock.pinned(datetime(2026, 12, 3, 5, 55, 20, tzinfo=HANOI))
    sim = BrtSimulator(static, now=clock.now)
    watch = BrtWatch(static)
    found = []
    while clock.now() < until:
        clock.advance(step_s)
        records = [p.to_record() for p in parse_feed(sim.vehicle_positions()).vehicles]
        found.extend(r for r in watch.readings(records) if r.source == "brt_headway")
    return found


@pytest.mark.parametrize("step_s", [15, 30, 60])
def test_a_fault_free_morning_shows_no_gap_at_any_polling_rate(step_s: float) -> None:
    readings = _headways(step_s, datetime(2026, 12, 3, 6, 59, tzinfo=HANOI))
    gaps = [(r.at.astimezone(HANOI).time(), r.subject, r.evidence) for r in readings
            if r.values["gap"]]
    assert gaps == []
    # Every dispatch from a terminal after the first one seen (06:00) makes a headway reading
    # at its first stop: 06:10, 06:20, 06:30, then every 5 minutes to 06:55.
    starts = [r for r in readings if r.evidence["stop_id"] in ("BRT01_01", "BRT01_21")
              and (r.evidence["stop_id"] == "BRT01_01") == (r.subject == "BRT01/0")]
    assert len(starts) == 2 * (3 + 5)
    # The first bus on the 5-minute schedule follows one that ran on the 10-minute one.
    first = next(r for r in starts if r.subject == "BRT01/0"
                 and r.at >= datetime(2026, 12, 3, 6, 30, tzinfo=HANOI))
    assert (first.evidence["headway_s"], first.evidence["scheduled_s"]) == (600, 600)
