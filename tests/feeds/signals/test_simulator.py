"""The signal simulator: through the real parser, Hanoi's peaks, faults that status detects."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from feeds.signals.detectors import detectors_from_features
from feeds.signals.events import SignalEvent, parse_jsonl
from feeds.signals.faults import Fault, rare_faults
from feeds.signals.feed import SignalsFeed, locations_from_features
from feeds.signals.health import detector_health
from feeds.signals.measures import phase_measures
from feeds.signals.simulator import SignalSimulator, UnknownSignal
from feeds.signals.status import unit_status

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
PACK = Path(__file__).resolve().parents[3] / "packs" / "hanoi" / "assets" / "signals.geojson"
MONDAY = datetime(2025, 3, 3, tzinfo=HANOI)
SATURDAY = datetime(2025, 3, 8, tzinfo=HANOI)


def features(*ids: str) -> list[dict[str, Any]]:
    every: list[dict[str, Any]] = orjson.loads(PACK.read_bytes())["features"]
    return [f for f in every if f["properties"]["id"] in ids]


ACTUATED = "sig-lang-ha-thai-ha"
FIXED = "sig-trang-thi-ly-quoc-su"


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def run(sim: SignalSimulator, clock: Clock, minutes: int, step: int = 5) -> list[SignalEvent]:
    """Poll every `step` minutes for `minutes`, parsing each payload like the feed does."""
    events: list[SignalEvent] = []
    for _ in range(minutes // step):
        clock.now += timedelta(minutes=step)
        parsed = parse_jsonl(sim.payload())
        assert parsed.rejected == []
        events += parsed.observations
    return events


def simulate(start: datetime, minutes: int, *ids: str, **kwargs: Any) -> list[SignalEvent]:
    clock = Clock(start)
    return run(SignalSimulator(features(*ids), now=clock, **kwargs), clock, minutes)


def volume(events: list[SignalEvent], *ids: str) -> int:
    return sum(m.volume for m in phase_measures(events, detectors_from_features(features(*ids))))


def test_the_same_seed_gives_the_same_events_whatever_the_polling_cadence() -> None:
    start = MONDAY + timedelta(hours=8)
    often = simulate(start, 30, ACTUATED, FIXED)
    clock = Clock(start)
    seldom = run(SignalSimulator(features(ACTUATED, FIXED), now=clock), clock, 30, step=15)
    assert len(often) > 1000
    assert sorted(e.key for e in often) == sorted(e.key for e in seldom)
    other_seed = simulate(start, 30, ACTUATED, FIXED, seed=7)
    assert sorted(e.key for e in other_seed) != sorted(e.key for e in often)
    assert min(e.time for e in often) >= start


def test_output_goes_through_the_feed_with_positions() -> None:
    clock = Clock(MONDAY + timedelta(hours=8))
    pick = features(ACTUATED, FIXED)
    sim = SignalSimulator(pick, now=clock)
    feed = SignalsFeed(sim, locations=locations_from_features(pick))
    clock.now += timedelta(minutes=2)
    parsed = feed.parse(sim.payload())
    assert parsed.rejected == [] and parsed.observations
    assert {(e.lon, e.lat) for e in parsed.observations if e.signal_id == FIXED} == {
        (105.85, 21.0266)}


def test_weekday_peaks_carry_more_traffic_than_midday_weekends_and_night() -> None:
    ids = (ACTUATED, FIXED)
    peak = volume(simulate(MONDAY + timedelta(hours=7, minutes=30), 60, *ids), *ids)
    evening = volume(simulate(MONDAY + timedelta(hours=17, minutes=30), 60, *ids), *ids)
    midday = volume(simulate(MONDAY + timedelta(hours=11), 60, *ids), *ids)
    weekend = volume(simulate(SATURDAY + timedelta(hours=7, minutes=30), 60, *ids), *ids)
    night = volume(simulate(MONDAY + timedelta(hours=2), 60, *ids), *ids)
    assert peak > 1.25 * midday and evening > 1.25 * midday
    assert peak > 1.3 * weekend
    assert midday > 5 * night


def test_actuated_and_fixed_time_controllers_terminate_differently() -> None:
    events = simulate(MONDAY + timedelta(hours=8), 30, ACTUATED, FIXED)
    measures = phase_measures(events, detectors_from_features(features(ACTUATED, FIXED)))
    actuated = [m for m in measures if m.signal_id == ACTUATED]
    fixed = [m for m in measures if m.signal_id == FIXED]
    assert sum(m.gap_outs + m.max_outs for m in actuated) > 0
    assert sum(m.force_offs for m in actuated) == 0
    assert sum(m.force_offs for m in fixed) > 0 and sum(m.gap_outs for m in fixed) == 0
    assert sum(m.sf_cycles for m in actuated) > 0
    assert all(m.aog_share is None or 0 <= m.aog_share <= 1 for m in measures)
    assert unit_status(FIXED, events, MONDAY + timedelta(hours=8, minutes=30)).state == "normal"


def test_a_flash_injected_on_demand_is_seen_by_status() -> None:
    clock = Clock(MONDAY + timedelta(hours=9))
    sim = SignalSimulator(features(ACTUATED), now=clock)
    events = run(sim, clock, 10)
    flash_at = clock.now
    sim.inject(Fault(ACTUATED, "flash", flash_at, flash_at + timedelta(minutes=20)))
    events += run(sim, clock, 30)
    status = unit_status(ACTUATED, events, flash_at + timedelta(minutes=10))
    assert (status.state, status.reason, status.since) == ("flash", "mmu", flash_at)
    during = [e for e in events if flash_at < e.time < flash_at + timedelta(minutes=20)]
    assert during and all(e.event_code in (81, 82) for e in during)  # detectors only
    assert unit_status(ACTUATED, events, flash_at + timedelta(minutes=30)).state == "normal"
    with pytest.raises(UnknownSignal):
        sim.inject(Fault("sig-nowhere", "flash", flash_at, flash_at))


def test_a_scheduled_power_failure_goes_dark_then_recovers() -> None:
    start = MONDAY + timedelta(hours=14)
    cut = start + timedelta(minutes=10)
    fault = Fault(FIXED, "power_failure", cut, cut + timedelta(minutes=15), 0)
    events = simulate(start, 40, FIXED, faults=[fault])
    dark = unit_status(FIXED, events, cut + timedelta(minutes=10))
    assert (dark.state, dark.since) == ("dark", cut)
    assert not [e for e in events if cut < e.time < fault.end]
    startup = unit_status(FIXED, events, fault.end + timedelta(seconds=5))
    assert (startup.state, startup.reason) == ("flash", "startup")
    assert unit_status(FIXED, events, fault.end + timedelta(minutes=5)).state == "normal"


def test_a_stuck_detector_is_found_by_the_watchdog() -> None:
    start = MONDAY + timedelta(hours=10)
    fault = Fault(ACTUATED, "stuck_detector", start + timedelta(minutes=5),
                  start + timedelta(minutes=35), 2)
    events = simulate(start, 40, ACTUATED, faults=[fault])
    config = detectors_from_features(features(ACTUATED))
    issues = detector_health(events, config, start, start + timedelta(minutes=40))
    stuck = [(i.kind, i.subject, i.start) for i in issues if i.kind == "stuck_on"]
    assert stuck == [("stuck_on", 2, fault.start)]
    healthy = detector_health(simulate(start, 40, ACTUATED), config, start,
                              start + timedelta(minutes=40))
    assert [i for i in healthy if i.kind == "stuck_on"] == []


def test_rare_faults_are_rare_and_reproducible() -> None:
    signals = [(f"sig-{i}", [2, 4]) for i in range(100)]
    first = rare_faults(signals, MONDAY, 30, rng=random.Random(1))
    again = rare_faults(signals, MONDAY, 30, rng=random.Random(1))
    assert first == again
    assert 30 <= len(first) <= 90  # about 0.02 per signal and day: 60 expected
    assert {f.kind for f in first} == {"flash", "power_failure", "stuck_detector"}
    assert all(MONDAY <= f.start < f.end for f in first)
