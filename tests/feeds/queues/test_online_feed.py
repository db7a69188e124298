"""The online public-services feed: observations without a position, and its simulator."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from feeds.base import Feed, geo_tag
from feeds.queues.online_feed import OnlineObservation, OnlineServicesFeed, OnlineSimulator

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
DISTRICTS = ("001", "002", "003", "250")


async def _never() -> bytes:
    raise AssertionError("the parser tests never fetch")


def _feed() -> OnlineServicesFeed:
    return OnlineServicesFeed(_never, DISTRICTS)


def _record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"district": "001", "day": "2026-11-23", "level": "end_to_end",
                              "applications": 120}
    record.update(overrides)
    return record


def test_records_become_observations_without_a_position() -> None:
    parsed = _feed().parse(orjson.dumps({"applications": [_record(), _record(level=3)]}))
    assert parsed.rejected == []
    first, second = parsed.observations
    assert math.isnan(first.lon) and math.isnan(first.lat)
    assert (second.level, second.key) == ("partial", ("001", date(2026, 11, 23), "partial"))
    assert first.to_record() == {
        "kind": "online_applications", "district": "001", "day": "2026-11-23",
        "level": "end_to_end", "applications": 120, "lon": None, "lat": None,
    }


@pytest.mark.parametrize(("record", "reason"), [
    ("001", "a record must be an object"),
    (_record(district="999"), "unknown district '999'"),
    (_record(district=1), "district must be a 3-digit GSO code"),
    ({k: v for k, v in _record().items() if k != "day"}, "day must be a YYYY-MM-DD date"),
    (_record(day="2026-13-40"), "day must be a YYYY-MM-DD date"),
    (_record(level=2), "level must be 3/partial or 4/end-to-end"),
    (_record(applications=-1), "applications must be a non-negative integer"),
    (_record(applications=1.5), "applications must be a non-negative integer"),
])
def test_a_bad_record_is_rejected_alone(record: Any, reason: str) -> None:
    document = {"applications": [_record(), record, _record(district="002")]}
    parsed = _feed().parse(orjson.dumps(document))
    assert [o.district for o in parsed.observations] == ["001", "002"]
    [rejected] = parsed.rejected
    assert reason in rejected.reason


def test_truncated_json_lines_lose_only_their_own_line() -> None:
    payload = orjson.dumps(_record()) + b'\n{"district": "00\n' + orjson.dumps(_record(level=3))
    parsed = _feed().parse(payload)
    assert [o.level for o in parsed.observations] == ["end_to_end", "partial"]
    assert parsed.rejected[0].reason.startswith("line is not JSON")


def _untagged_when_unplaced(lons: Sequence[float], lats: Sequence[float]) -> list[str | None]:
    """What geo.AreaIndex answers: no area for a NaN position."""
    return [None if math.isnan(lon) else "001" for lon in lons]


def test_geo_tagging_keeps_the_source_district() -> None:
    parsed = _feed().parse(orjson.dumps({"applications": [_record(district="250")]}))
    [tagged] = geo_tag(parsed.observations, _untagged_when_unplaced)
    assert isinstance(tagged, OnlineObservation)
    assert tagged.district == "250"
    assert tagged.with_district("003").district == "003"


def test_a_later_count_for_the_same_key_replaces_the_earlier() -> None:
    morning = _feed().parse(orjson.dumps(_record(applications=10))).observations
    evening = _feed().parse(orjson.dumps(_record(applications=95))).observations
    latest = {o.key: o.applications for o in [*morning, *evening]}
    assert latest == {("001", date(2026, 11, 23), "end_to_end"): 95}


def _poll(step: timedelta, seed: int = 2022, start_hour: int = 0
          ) -> list[list[OnlineObservation]]:
    """Poll a simulator every `step` from Monday 23 November 2026 to Tuesday 01:00."""
    clock = [datetime(2026, 11, 23, start_hour, tzinfo=HANOI)]
    simulator = OnlineSimulator(DISTRICTS, seed=seed, now=lambda: clock[0])
    feed = OnlineServicesFeed(simulator, DISTRICTS)
    polls = []
    while clock[0] <= datetime(2026, 11, 24, 1, tzinfo=HANOI):
        parsed = feed.parse(simulator.snapshot_bytes())
        assert parsed.rejected == []
        polls.append(parsed.observations)
        clock[0] += step
    return polls


@pytest.fixture(scope="module")
def polls() -> list[list[OnlineObservation]]:
    return _poll(timedelta(minutes=10))


def test_counts_never_decrease_within_a_day(polls: list[list[OnlineObservation]]) -> None:
    latest: dict[tuple[str, date, str], int] = {}
    for poll in polls:
        for observation in poll:
            assert observation.applications >= latest.get(observation.key, 0)
            latest[observation.key] = observation.applications
    monday = [v for (_, day, _), v in latest.items() if day == date(2026, 11, 23)]
    assert len(monday) == 2 * len(DISTRICTS) and all(v > 0 for v in monday)


def test_counts_grow_through_office_hours(polls: list[list[OnlineObservation]]) -> None:
    def total(hour: int) -> int:
        poll = polls[hour * 6]  # one poll every 10 minutes from midnight
        return sum(o.applications for o in poll if o.day == date(2026, 11, 23))

    day_total = total(24)  # the first poll after midnight has Monday's final totals
    assert total(8) < 0.1 * day_total
    assert total(17) - total(8) > 0.7 * day_total


def test_the_first_poll_after_midnight_closes_the_day(
    polls: list[list[OnlineObservation]],
) -> None:
    after_midnight = polls[24 * 6]  # 00:00 on Tuesday
    assert {o.day for o in after_midnight} == {date(2026, 11, 23), date(2026, 11, 24)}
    later = polls[24 * 6 + 1]
    assert {o.day for o in later} == {date(2026, 11, 24)}


def test_the_simulator_is_deterministic_whatever_the_cadence(
    polls: list[list[OnlineObservation]],
) -> None:
    hourly = _poll(timedelta(hours=1))
    assert hourly[10] == polls[60]
    # A simulator started mid-morning (a restart) reports the same counts.
    assert _poll(timedelta(hours=1), start_hour=10)[0] == polls[60]
    assert _poll(timedelta(hours=1), seed=7)[10] != polls[60]


def test_weekends_file_less() -> None:
    def day_total(day: date) -> int:
        clock = datetime(day.year, day.month, day.day, 23, 59, tzinfo=HANOI)
        records = OnlineSimulator(DISTRICTS, now=lambda: clock).records()
        return sum(int(r["applications"]) for r in records)

    assert day_total(date(2026, 11, 29)) < 0.5 * day_total(date(2026, 11, 23))


async def test_the_feed_interface() -> None:
    clock = datetime(2026, 11, 23, 11, tzinfo=HANOI)
    feed: Feed = OnlineServicesFeed(OnlineSimulator(DISTRICTS, now=lambda: clock), DISTRICTS)
    assert (feed.name, feed.mode, feed.interval_s) == ("online_services", "poll", 60.0)
    parsed = feed.parse(await feed.fetch())
    assert parsed.rejected == [] and len(parsed.observations) == 2 * len(DISTRICTS)
