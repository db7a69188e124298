"""Headway maths on hand-checked sequences, arrival detection, and smart-card taps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from feeds.transit.headways import (
    Arrival,
    ArrivalDetector,
    HeadwayThresholds,
    TripStart,
    arrivals_from_trip_updates,
    average_wait,
    excess_wait,
    expected_headway,
    observed_headways,
    regularity_cv,
    summarise,
)
from feeds.transit.realtime_records import StopTimeUpdate, TripUpdate, VehiclePosition
from feeds.transit.taps import boardings_per_stop_hour, card_hash, parse_taps

T0 = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # 07:30 in Hanoi
KEY = b"test-key"


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _arrivals(*seconds: float, stop: str = "S1") -> list[Arrival]:
    return [Arrival("BRT01", 0, stop, f"bus-{i}", "BRT01_0", f"start-{i}", _at(s))
            for i, s in enumerate(seconds)]


# Arrivals at 0, 300, 360, 1080, 1380 s: headways 300, 60, 720, 300 against 300 scheduled.
HAND = (0, 300, 360, 1080, 1380)


def test_headways_are_differences_of_consecutive_arrivals_per_stop_and_direction() -> None:
    arrivals = _arrivals(*HAND) + _arrivals(10, 20, stop="S2")
    arrivals.append(Arrival("BRT01", 1, "S1", "other", "BRT01_1", "x", _at(100)))
    headways = observed_headways(arrivals)
    at_s1 = [h for h in headways if h.stop_id == "S1" and h.direction_id == 0]
    assert [h.seconds for h in at_s1] == [300, 60, 720, 300]
    assert (at_s1[1].leader, at_s1[1].follower, at_s1[1].at) == ("bus-1", "bus-2", _at(360))
    assert [h.seconds for h in headways if h.stop_id == "S2"] == [10]
    assert not [h for h in headways if h.direction_id == 1]  # one arrival: no headway


def test_a_repeated_report_of_one_arrival_counts_once_with_its_last_time() -> None:
    arrivals = _arrivals(0, 300)
    arrivals.append(arrivals[1]._replace(at=_at(310)))
    assert [h.seconds for h in observed_headways(arrivals)] == [310]


def test_regularity_cv_is_population_sd_over_mean() -> None:
    # mean 345; deviations -45, -285, 375, -45; variance 225900 / 4 = 56475.
    assert regularity_cv([300, 60, 720, 300]) == pytest.approx(56475**0.5 / 345)
    assert regularity_cv([300, 300, 300]) == 0
    assert regularity_cv([300]) is None


def test_excess_wait_time() -> None:
    # AWT = (300² + 60² + 720² + 300²) / (2 x 1380) = 702000 / 2760; SWT = 300 / 2.
    assert average_wait([300, 60, 720, 300]) == pytest.approx(702000 / 2760)
    assert average_wait([300] * 4) == 150
    assert excess_wait([300, 60, 720, 300], [300] * 4) == pytest.approx(702000 / 2760 - 150)
    assert excess_wait([], [300]) is None


def test_bunching_and_gaps_with_default_and_configured_thresholds() -> None:
    limits = HeadwayThresholds()
    assert [limits.classify(h, 300) for h in (300, 60, 720, 119, 600, 601)] == [
        "normal", "bunching", "gap", "bunching", "normal", "gap"]
    # At a 15-minute headway, under a quarter (225 s) is bunching though over 2 minutes.
    assert limits.classify(200, 900) == "bunching"
    strict = HeadwayThresholds(bunching_ratio=0.1, bunching_floor_s=0, gap_ratio=3)
    assert [strict.classify(h, 300) for h in (60, 25, 720, 901)] == [
        "normal", "bunching", "normal", "gap"]


def test_summary_per_stop_and_direction() -> None:
    headways = observed_headways(_arrivals(*HAND))
    [summary] = summarise(headways, lambda route, direction, stop, at: 300.0)
    assert (summary.stop_id, summary.headway_count, summary.mean_s) == ("S1", 4, 345)
    assert (summary.bunching, summary.gaps) == (1, 1)
    assert summary.cv == pytest.approx(0.688825, abs=1e-6)
    assert summary.ewt_s == pytest.approx(104.3478, abs=1e-4)
    [unscheduled] = summarise(headways, lambda *_: None)
    assert (unscheduled.bunching, unscheduled.ewt_s, unscheduled.cv) == (0, None, summary.cv)


def _position(seconds: float, sequence: int, status: str, stop: str, vehicle: str = "bus-1",
              trip: str = "BRT01_0", start: str = "07:00:00") -> VehiclePosition:
    return VehiclePosition(vehicle, None, trip, "BRT01", 0, date(2026, 11, 23), start,
                           _at(seconds), 105.8, 21.0, None, None, sequence, stop, status,
                           None, None)


CALLS = {"BRT01_0": [(1, "S1"), (2, "S2"), (3, "S3"), (4, "S4"), (5, "S5"), (6, "S6")]}


def test_arrivals_from_successive_positions() -> None:
    detector = ArrivalDetector(lambda trip: CALLS[trip])
    assert detector.update([_position(0, 3, "IN_TRANSIT_TO", "S3")]) == []
    [arrived] = detector.update([_position(10, 3, "STOPPED_AT", "S3")])
    assert (arrived.stop_id, arrived.at, arrived.vehicle_id) == ("S3", _at(10), "bus-1")
    assert detector.update([_position(20, 3, "STOPPED_AT", "S3")]) == []  # still there
    assert detector.update([_position(20, 3, "STOPPED_AT", "S3")]) == []  # repeated report
    assert detector.update([_position(30, 4, "IN_TRANSIT_TO", "S4")]) == []
    # Two stops passed between reports, never seen stopped: times spread evenly.
    passed = detector.update([_position(60, 6, "IN_TRANSIT_TO", "S6")])
    assert [(a.stop_id, a.at) for a in passed] == [("S4", _at(40)), ("S5", _at(50))]
    # A new trip of the same bus starts afresh.
    [again] = detector.update([_position(90, 1, "STOPPED_AT", "S1", start="08:00:00")])
    assert (again.stop_id, again.trip_start) == ("S1", "2026-11-23 08:00:00")


def test_without_the_trip_calls_only_the_stop_headed_for_is_known() -> None:
    detector = ArrivalDetector()
    detector.update([_position(0, 4, "IN_TRANSIT_TO", "S4")])
    passed = detector.update([_position(60, 6, "INCOMING_AT", "S6")])
    assert [(a.stop_id, a.at) for a in passed] == [("S4", _at(30))]


def test_arrivals_from_trip_updates_are_the_times_already_past() -> None:
    def update(seq: int, stop: str, seconds: float, relation: str = "SCHEDULED"
               ) -> StopTimeUpdate:
        return StopTimeUpdate(seq, stop, None, _at(seconds), None, None, relation)

    trip = TripUpdate("e", "BRT01_0", "BRT01", 0, date(2026, 11, 23), "07:00:00", "SCHEDULED",
                      "bus-1", _at(100), None,
                      (update(1, "S1", 0), update(2, "S2", 50, "SKIPPED"), update(3, "S3", 90),
                       update(4, "S4", 200)))
    arrivals = arrivals_from_trip_updates([trip], now=_at(100))
    assert [(a.stop_id, a.at) for a in arrivals] == [("S1", _at(0)), ("S3", _at(90))]


def test_taps_never_keep_the_card_number_and_bad_ones_go_alone() -> None:
    card = "9704 0000 1234 5678"
    taps = [
        {"card": card, "stop_id": "BRT01_01", "time": "2026-11-23T07:05:00+07:00"},
        {"card": card, "stop_id": "BRT01_01", "time": "2026-11-23T07:05:40+07:00"},  # twice
        {"card": "other", "stop_id": "BRT01_01", "time": "2026-11-23T07:59:59+07:00"},
        {"card": "third", "stop_id": "BRT01_02", "time": "2026-11-23T08:00:00+07:00"},
        {"card": card, "stop_id": "BRT01_01", "time": "2026-11-23T07:10:00"},  # no zone
        {"card": card, "stop_id": ""},
        "9704000012345678",
    ]
    parsed = parse_taps(orjson.dumps(taps), KEY)
    assert [t.card_hash for t in parsed.observations[:1]] == [card_hash(card, KEY)]
    assert len(parsed.observations) == 4
    assert [r.reason for r in parsed.rejected] == [
        "time must be ISO 8601 with a time zone, got '2026-11-23T07:10:00'",
        "stop_id must be a non-empty string", "a tap must be an object, got str"]
    kept = " ".join(r.raw for r in parsed.rejected) + repr(parsed.observations)
    assert card not in kept and card.replace(" ", "") not in kept
    hanoi = ZoneInfo("Asia/Ho_Chi_Minh")
    counts = boardings_per_stop_hour(parsed.observations, hanoi)
    seven, eight = (datetime(2026, 11, 23, h, tzinfo=hanoi) for h in (7, 8))
    assert counts == {("BRT01_01", seven): 2, ("BRT01_02", eight): 1}
    assert parse_taps(b"card,stop\n9704,1", KEY).rejected[0].raw == "<16 bytes withheld>"


def _started_at(seconds: float) -> TripStart:
    return lambda position: _at(seconds)


def test_a_trip_first_seen_past_its_first_stop_arrived_there_when_it_started() -> None:
    # A 12 s dwell at the terminal fell between two reports 15 s apart.
    detector = ArrivalDetector(lambda trip: CALLS[trip], _started_at(100))
    assert detector.update([_position(95, 5, "IN_TRANSIT_TO", "S5", start="06:00:00")]) == []
    passed = detector.update([_position(120, 3, "IN_TRANSIT_TO", "S3")])
    assert [(a.stop_id, a.at) for a in passed] == [("S1", _at(100)), ("S2", _at(110))]


def test_stops_before_a_vehicle_was_first_seen_are_not_guessed() -> None:
    calls = lambda trip: CALLS[trip]  # noqa: E731
    # Without a start time, or when the trip started long before (a watcher started mid-trip).
    for detector in (ArrivalDetector(calls),
                     ArrivalDetector(calls, _started_at(100), catch_up_s=300)):
        assert detector.update([_position(500, 3, "IN_TRANSIT_TO", "S3")]) == []
    # First sight soon after the start: the stop passed is counted.
    recent = ArrivalDetector(calls, _started_at(100), catch_up_s=300)
    [first] = recent.update([_position(130, 2, "IN_TRANSIT_TO", "S2")])
    assert (first.stop_id, first.at) == ("S1", _at(100))
    # A start before the vehicle's previous report is not this trip's terminal departure.
    stale = ArrivalDetector(calls, _started_at(100))
    stale.update([_position(110, 5, "IN_TRANSIT_TO", "S5", start="06:00:00")])
    assert stale.update([_position(130, 2, "IN_TRANSIT_TO", "S2")]) == []


def test_a_headway_across_a_frequency_change_is_judged_by_the_sparser_schedule() -> None:
    # 600 s until T0 + 1000 s, 300 s after: a bus 630 s behind one that ran at 600 s.
    def scheduled(route: str | None, direction: int | None, stop: str, at: datetime) -> float:
        return 600.0 if at < _at(1000) else 300.0

    assert expected_headway(scheduled, "BRT01", 0, "S1", _at(400), _at(1030)) == 600
    assert expected_headway(scheduled, "BRT01", 0, "S1", _at(1030), _at(1330)) == 300
    assert expected_headway(lambda *_: None, "BRT01", 0, "S1", _at(0), _at(300)) is None
    [summary] = summarise(observed_headways(_arrivals(400, 1030, 1330, 1990)), scheduled)
    assert (summary.gaps, summary.swt_s) == (1, pytest.approx((600**2 + 300**2 * 2)
                                                              / (2 * 1200)))
