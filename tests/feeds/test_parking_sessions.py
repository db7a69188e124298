"""Parking sessions: the parser, the plate refusal, natural keys, and the session simulator."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from feeds.base import Feed, geo_tag
from feeds.parking_sessions import (
    ParkingSession,
    ParkingSessionsFeed,
    parse_sessions,
    site_positions,
)
from feeds.sessions_simulator import CAR_HOUR_VND, MOTORBIKE_TURN_VND, SessionSimulator, fare_vnd
from feeds.simulator import profile_share

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
SITES = {"hk-ly-thuong-kiet": (105.8468, 21.0246), "bd-kim-ma": (105.8231, 21.0318)}


def _start(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"session_id": "20261123-00001", "site_id": "hk-ly-thuong-kiet",
                              "vehicle_type": "car", "started_at": "2026-11-23T08:05:00+07:00"}
    record.update(overrides)
    return record


def _end(**overrides: Any) -> dict[str, Any]:
    ending = {"ended_at": "2026-11-23T09:35:00+07:00", "amount_vnd": 50_000, "payment": "app"}
    return _start(**{**ending, **overrides})


def test_a_session_is_reported_at_its_start_and_at_its_end() -> None:
    parsed = parse_sessions(orjson.dumps({"sessions": [_start(), _end()]}), SITES)
    assert parsed.rejected == []
    start, end = parsed.observations
    assert (start.ended_at, start.amount_vnd, start.payment) == (None, None, None)
    assert end.ended_at == datetime(2026, 11, 23, 9, 35, tzinfo=HANOI)
    assert (start.lon, start.lat) == SITES["hk-ly-thuong-kiet"]
    assert end.to_record() == {
        "session_id": "20261123-00001", "site_id": "hk-ly-thuong-kiet", "vehicle_type": "car",
        "started_at": "2026-11-23T01:05:00.000000+00:00",
        "ended_at": "2026-11-23T02:35:00.000000+00:00", "ended": True, "amount_vnd": 50_000,
        "payment": "app", "lon": 105.8468, "lat": 21.0246, "district": None,
    }
    # Per-turn fares may be paid on entry: an amount before the end is accepted.
    prepaid = parse_sessions(orjson.dumps(_start(amount_vnd=5_000, payment="cash")), SITES)
    assert prepaid.observations[0].amount_vnd == 5_000


def test_both_reports_keep_their_own_key_and_a_replay_repeats_them() -> None:
    payload = b"\n".join(orjson.dumps(r) for r in (_start(), _end())) + b"\n"
    first = parse_sessions(payload, SITES).observations
    replay = parse_sessions(payload, SITES).observations
    keys = [o.key for o in first]
    assert keys == [("hk-ly-thuong-kiet", "20261123-00001", False),
                    ("hk-ly-thuong-kiet", "20261123-00001", True)]
    assert [o.key for o in replay] == keys
    # The same session id at another car park is another session.
    other = parse_sessions(orjson.dumps(_start(site_id="bd-kim-ma")), SITES).observations
    assert other[0].key not in keys


@pytest.mark.parametrize(("record", "reason"), [
    ([1, 2], "a session record must be an object, got list"),
    (_start(session_id=""), "session_id must be a non-empty string"),
    (_start(session_id=42), "session_id must be a non-empty string"),
    (_start(session_id="x" * 65), "session_id is longer than 64 characters"),
    (_start(site_id="nowhere"), "unknown car park 'nowhere'"),
    ({k: v for k, v in _start().items() if k != "site_id"}, "site_id must be a non-empty"),
    (_start(vehicle_type="truck"), "vehicle_type must be one of car, motorbike"),
    (_start(started_at=None), "started_at must be ISO 8601 with a time zone"),
    (_start(started_at="2026-11-23T08:05:00"), "started_at must be ISO 8601 with a time zone"),
    (_start(started_at=1732345500), "started_at must be ISO 8601 with a time zone"),
    (_start(started_at="1970-01-01T00:00:00+00:00"), "before 2000: the source clock is unset"),
    (_end(ended_at="2026-11-23T07:00:00+07:00"), "is before started_at"),
    (_end(ended_at="2027-01-23T07:00:00+07:00"), "a stay of over 31 days"),
    (_end(amount_vnd=-5_000), "amount_vnd must be an integer in [0, 50000000]"),
    (_end(amount_vnd=12.5), "amount_vnd must be an integer"),
    (_end(amount_vnd=True), "amount_vnd must be an integer"),
    (_end(amount_vnd=10**12), "amount_vnd must be an integer"),
    (_end(payment="bitcoin"), "payment must be one of app, sms, card, cash"),
    (_end(amount_vnd=None), "payment is given without an amount_vnd"),
    (_end(payment=None), "amount_vnd 50000 is given without its payment method"),
])
def test_a_bad_record_is_rejected_alone(record: Any, reason: str) -> None:
    document = {"sessions": [_start(), record, _end(session_id="20261123-00002")]}
    parsed = parse_sessions(orjson.dumps(document), SITES)
    assert [o.session_id for o in parsed.observations] == ["20261123-00001", "20261123-00002"]
    [rejected] = parsed.rejected
    assert reason in rejected.reason
    assert orjson.loads(rejected.raw) == record


def test_free_stays_need_no_payment_method() -> None:
    parsed = parse_sessions(orjson.dumps(_end(amount_vnd=0, payment=None)), SITES)
    assert parsed.rejected == [] and parsed.observations[0].amount_vnd == 0


def test_truncated_json_lines_lose_only_their_own_line() -> None:
    payload = (orjson.dumps(_start()) + b"\n\n" + b'{"session_id": "20261123-0000'
               + b"\n" + orjson.dumps(_end()))
    parsed = parse_sessions(payload, SITES)
    assert [o.ended for o in parsed.observations] == [False, True]
    [rejected] = parsed.rejected
    assert rejected.reason.startswith("line 3 is not JSON")
    assert rejected.raw == '{"session_id": "20261123-0000'


def test_whole_payload_problems_are_rejected() -> None:
    parsed = parse_sessions(b'{"sessions": {"plate": "30A-123.45"}}', SITES)
    assert parsed.observations == []
    assert parsed.rejected[0].reason == "sessions must be a list"
    assert "30A" not in parsed.rejected[0].raw
    assert parse_sessions(b"", SITES).rejected == []


@pytest.mark.parametrize("field", ["plate", "licence_plate", "license_plate"])
def test_a_record_with_a_plate_is_refused_and_the_plate_never_kept(field: str) -> None:
    with_plate = _end(**{field: "30A-123.45"})
    parsed = parse_sessions(orjson.dumps({"sessions": [with_plate, _start()]}), SITES)
    assert [o.ended for o in parsed.observations] == [False]
    [rejected] = parsed.rejected
    assert rejected.reason == f"carries a plate number ({field}): refused"
    assert "30A-123.45" not in rejected.raw
    assert orjson.loads(rejected.raw) == {**with_plate, field: "[redacted]"}


def test_plates_are_refused_even_nested_or_empty_and_redacted_in_broken_lines() -> None:
    nested = _start(vehicle={"colour": "white", "plate": "29B-555.55"})
    empty = _start(licence_plate=None)
    parsed = parse_sessions(orjson.dumps({"sessions": [nested, empty]}), SITES)
    assert parsed.observations == []
    assert [r.reason for r in parsed.rejected] == [
        "carries a plate number (vehicle.plate): refused",
        "carries a plate number (licence_plate): refused",
    ]
    assert "29B" not in parsed.rejected[0].raw
    # A line cut short is not JSON, yet the plate in its text must not reach the dead letters.
    cut = b'{"session_id": "1", "plate": "30A-123.45", "site_id": "hk-ly'
    cut_value = b'{"session_id": "2", "licence_plate": "30A-12'
    rejected = parse_sessions(cut + b"\n" + cut_value, SITES).rejected
    assert [r.raw for r in rejected] == [
        '{"session_id": "1", "plate": "[redacted]", "site_id": "hk-ly',
        '{"session_id": "2", "licence_plate": "[redacted]"',
    ]


def _by_longitude(lons: Sequence[float], lats: Sequence[float]) -> list[str | None]:
    return ["001" if lon > 105.84 else "002" for lon in lons]


def test_sessions_are_observations_that_geo_tag() -> None:
    parsed = parse_sessions(orjson.dumps({"sessions": [_start(),
                                                       _start(site_id="bd-kim-ma")]}), SITES)
    tagged = geo_tag(parsed.observations, _by_longitude)
    assert [o.to_record()["district"] for o in tagged] == ["001", "002"]
    assert all(isinstance(o, ParkingSession) for o in tagged)


def _feature(site_id: str, i: int, hours: str = "Mo-Su 06:00-22:00") -> dict[str, Any]:
    return {"type": "Feature",
            "geometry": {"type": "Point", "coordinates": [105.80 + i * 0.001, 21.02]},
            "properties": {"id": site_id, "capacity": {"car": 60, "motorbike": 250},
                           "opening_hours": hours}}


FEATURES = [_feature(f"site-{i}", i) for i in range(5)] + [
    _feature("site-24h", 5, "Mo-Su 00:00-24:00")]


def _day(step: timedelta, seed: int = 2017) -> list[ParkingSession]:
    """Poll a simulator every `step` through Monday 23 November 2026 and the night after."""
    clock = [datetime(2026, 11, 23, tzinfo=HANOI)]
    simulator = SessionSimulator(FEATURES, seed=seed, now=lambda: clock[0])
    feed = ParkingSessionsFeed(simulator, site_positions(FEATURES))
    sessions: list[ParkingSession] = []
    while clock[0] <= datetime(2026, 11, 24, 6, tzinfo=HANOI):
        parsed = feed.parse(simulator.snapshot_bytes())
        assert parsed.rejected == []
        sessions.extend(parsed.observations)
        clock[0] += step
    return sessions


@pytest.fixture(scope="module")
def day() -> list[ParkingSession]:
    return _day(timedelta(minutes=6))


def test_the_simulator_is_deterministic_whatever_the_polling_cadence(
    day: list[ParkingSession],
) -> None:
    assert _day(timedelta(minutes=45)) == day
    assert _day(timedelta(minutes=45), seed=1) != day


def test_every_session_starts_then_ends_once_and_pays_the_fare(
    day: list[ParkingSession],
) -> None:
    starts = {o.key[:2]: o for o in day if not o.ended}
    ends = {o.key[:2]: o for o in day if o.ended}
    assert len(starts) == len([o for o in day if not o.ended]) > 1_000
    assert ends.keys() <= starts.keys()
    # By 06:00 only the 24-hour car park can still hold vehicles: the others closed at 22:00.
    assert {site for site, _ in starts.keys() - ends.keys()} == {"site-24h"}
    for key, end in ends.items():
        assert end.started_at == starts[key].started_at
        assert end.ended_at is not None and end.ended_at > end.started_at
        assert end.amount_vnd == fare_vnd(end.vehicle_type, end.ended_at - end.started_at)
    assert {o.amount_vnd for o in ends.values() if o.vehicle_type == "motorbike"} == {
        MOTORBIKE_TURN_VND}
    car_fares = {o.amount_vnd for o in ends.values() if o.vehicle_type == "car"}
    assert CAR_HOUR_VND in car_fares and 3 * CAR_HOUR_VND in car_fares
    assert {o.payment for o in ends.values()} == {"app", "sms", "card", "cash"}


def test_fares_follow_the_documented_rule() -> None:
    assert fare_vnd("motorbike", timedelta(hours=9)) == 5_000
    assert fare_vnd("car", timedelta(minutes=10)) == 25_000
    assert fare_vnd("car", timedelta(minutes=61)) == 50_000


def _parked(sessions: list[ParkingSession], hour: float, site: str | None = None) -> float:
    at = datetime(2026, 11, 23, tzinfo=HANOI) + timedelta(hours=hour)
    ends = [o for o in sessions if o.ended and (site is None or o.site_id == site)]
    capacity = 310 * (len(FEATURES) if site is None else 1)
    return sum(1 for o in ends if o.started_at <= at < (o.ended_at or at)) / capacity


def test_occupancy_follows_the_hanoi_day(day: list[ParkingSession]) -> None:
    assert _parked(day, 10) > 0.7
    assert _parked(day, 10) > 2 * _parked(day, 6.5)
    assert _parked(day, 10) > _parked(day, 21.5) > 5 * _parked(day, 23)
    # Close to the curve once filled (each car park draws its own demand, 0.75-1.12).
    assert abs(_parked(day, 15) - profile_share("motorbike", 15)) < 0.2
    # Car parks closing at 22:00 are empty by then; the 24-hour one keeps some overnight.
    assert _parked(day, 22.01, "site-0") == 0.0
    assert _parked(day, 26, "site-24h") > 0.0


async def test_the_feed_interface() -> None:
    clock = [datetime(2026, 11, 23, 9, tzinfo=HANOI)]
    simulator = SessionSimulator(FEATURES, now=lambda: clock[0])
    feed: Feed = ParkingSessionsFeed(simulator, site_positions(FEATURES))
    assert (feed.name, feed.mode, feed.interval_s) == ("parking_sessions", "poll", 10.0)
    parsed = feed.parse(await feed.fetch())
    assert parsed.rejected == [] and len(parsed.observations) > 100
