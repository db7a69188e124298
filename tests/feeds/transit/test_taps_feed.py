"""The BRT taps feed: taps placed at their stops, and a simulated day of riders on line 01."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from feeds.base import Feed, geo_tag
from feeds.transit.gtfs_records import GtfsFeed
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.taps import Tap, boardings_per_stop_hour, card_hash
from feeds.transit.taps_feed import TapObservation, TapsFeed, TapSimulator

PACK_BRT = Path(__file__).resolve().parents[3] / "packs" / "hanoi" / "brt"
KEY = b"test-card-hash-key-0123456789abcdef"
CARD = "9704123412341234"


@pytest.fixture(scope="module")
def static() -> GtfsFeed:
    return load_gtfs(PACK_BRT)


async def _never() -> bytes:
    raise AssertionError("the parser tests never fetch")


def _tap(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"card": CARD, "stop_id": "BRT01_01",
                              "time": "2026-11-23T07:45:12+07:00"}
    record.update(overrides)
    return record


def test_a_bare_tap_is_not_an_observation_until_placed(static: GtfsFeed) -> None:
    assert not hasattr(Tap, "lon") and not hasattr(Tap, "with_district")
    parsed = TapsFeed(_never, static, KEY).parse(orjson.dumps([_tap()]))
    assert parsed.rejected == []
    [tap] = parsed.observations
    stop = static.stops["BRT01_01"]
    assert (tap.lon, tap.lat) == (stop.lon, stop.lat)
    assert tap.card_hash == card_hash(CARD, KEY)
    assert tap.to_record() == {
        "card_hash": card_hash(CARD, KEY), "stop_id": "BRT01_01",
        "at": "2026-11-23T00:45:12.000000+00:00", "lon": stop.lon, "lat": stop.lat,
        "district": None,
    }
    assert CARD not in orjson.dumps(tap.to_record()).decode()


def _by_longitude(lons: Sequence[float], lats: Sequence[float]) -> list[str | None]:
    return [f"{lon:.2f}" for lon in lons]


def test_placed_taps_geo_tag(static: GtfsFeed) -> None:
    parsed = TapsFeed(_never, static, KEY).parse(orjson.dumps([_tap()]))
    [tagged] = geo_tag(parsed.observations, _by_longitude)
    assert isinstance(tagged, TapObservation) and tagged.district == "105.83"


@pytest.mark.parametrize(("record", "reason"), [
    (_tap(stop_id="BRT02_01"), "stop 'BRT02_01' is not in the static feed"),
    (_tap(stop_id=7), "stop_id must be a non-empty string"),
    (_tap(card=""), "card must be a non-empty string"),
    ({"stop_id": "BRT01_01", "time": "2026-11-23T07:45:12+07:00"}, "card must be"),
    (_tap(time="2026-11-23T07:45:12"), "time must be ISO 8601 with a time zone"),
    (_tap(time="yesterday"), "time must be ISO 8601 with a time zone"),
    ("9704123412341234", "a tap must be an object"),
])
def test_a_bad_tap_is_rejected_alone_and_its_card_never_kept(
    static: GtfsFeed, record: Any, reason: str,
) -> None:
    payload = orjson.dumps([_tap(), record, _tap(stop_id="BRT01_21")])
    parsed = TapsFeed(_never, static, KEY).parse(payload)
    assert [t.stop_id for t in parsed.observations] == ["BRT01_01", "BRT01_21"]
    [rejected] = parsed.rejected
    assert reason in rejected.reason
    assert CARD not in rejected.raw


def test_a_payload_that_is_not_a_list_of_taps_is_withheld(static: GtfsFeed) -> None:
    feed = TapsFeed(_never, static, KEY)
    truncated = orjson.dumps([_tap(), _tap()])[:-20]
    for payload in (truncated, orjson.dumps(_tap())):
        parsed = feed.parse(payload)
        assert parsed.observations == []
        assert CARD not in parsed.rejected[0].raw


def test_a_replayed_payload_gives_the_same_keys(static: GtfsFeed) -> None:
    payload = orjson.dumps([_tap(), _tap(time="2026-11-23T07:45:14+07:00")])
    feed = TapsFeed(_never, static, KEY)
    keys = [t.key for t in feed.parse(payload).observations]
    assert [t.key for t in feed.parse(payload).observations] == keys
    assert len(set(keys)) == 2


def _day(static: GtfsFeed, step: timedelta, seed: int = 2016) -> list[TapObservation]:
    """Poll a simulator every `step` through Monday 23 November 2026."""
    clock = [datetime(2026, 11, 23, tzinfo=static.timezone)]
    simulator = TapSimulator(static, seed=seed, now=lambda: clock[0])
    feed = TapsFeed(simulator, static, KEY)
    taps: list[TapObservation] = []
    while clock[0] <= datetime(2026, 11, 24, tzinfo=static.timezone):
        parsed = feed.parse(simulator.taps_bytes())
        assert parsed.rejected == []
        taps.extend(parsed.observations)
        clock[0] += step
    return taps


@pytest.fixture(scope="module")
def day(static: GtfsFeed) -> list[TapObservation]:
    return _day(static, timedelta(minutes=2))


def test_the_simulator_is_deterministic_whatever_the_cadence(
    static: GtfsFeed, day: list[TapObservation],
) -> None:
    assert _day(static, timedelta(minutes=30)) == day
    assert _day(static, timedelta(hours=6), seed=1) != day


def test_taps_happen_only_at_line_stops_in_service_hours(
    static: GtfsFeed, day: list[TapObservation],
) -> None:
    line_stops = {c.stop_id for calls in static.stop_times.values() for c in calls}
    assert {t.stop_id for t in day} == line_stops
    hours = {t.at.astimezone(static.timezone).hour for t in day}
    assert min(hours) >= 5 and max(hours) <= 21


def test_a_day_carries_the_line_s_ridership_with_its_two_peaks(
    static: GtfsFeed, day: list[TapObservation],
) -> None:
    boardings = boardings_per_stop_hour([t.tap for t in day], static.timezone)
    assert len(day) > sum(boardings.values())  # some cards tapped twice at the reader
    assert 12_000 < sum(boardings.values()) < 14_000
    per_hour: Counter[int] = Counter()
    for (_, hour), count in boardings.items():
        per_hour[hour.hour] += count
    off_peak = max(per_hour[h] for h in range(10, 16))
    assert min(per_hour[h] for h in (7, 8, 17, 18)) > 1.5 * off_peak


async def test_the_feed_interface(static: GtfsFeed) -> None:
    clock = datetime(2026, 11, 23, 8, tzinfo=static.timezone)
    feed: Feed = TapsFeed(TapSimulator(static, now=lambda: clock), static, KEY)
    assert (feed.name, feed.mode, feed.interval_s) == ("brt_taps", "poll", 30.0)
    parsed = feed.parse(await feed.fetch())
    assert parsed.rejected == [] and len(parsed.observations) > 1_000
