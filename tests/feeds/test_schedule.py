"""Feeds whose sources keep hours: idle outside them, judged inside them, lenient at the edges.

Built from the Hanoi pack itself: the BRT line's GTFS (05:00 to the last arrival at 22:25:58)
and the one-stop shops' and car parks' opening hours. No wall clock: every instant is given.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from feeds.clock import Clock
from feeds.registry import FEEDS, LAG_ALLOWANCE_S, build_feed, feed_hours
from feeds.schedule import PUNCTUALITY_S, Hours, Standing, merge, opening_hours
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.schedule import service_spans
from geo import CityPack, load_pack
from tests.clock import DAY, HANOI, NIGHT
from tests.conftest import shared_file

PACK = Path(__file__).resolve().parents[2] / "packs" / "hanoi"
BRT = ("brt_vehicles", "brt_trips", "brt_taps")
MONDAY = NIGHT.date()


@pytest.fixture(scope="module")
def pack() -> CityPack:
    """The Hanoi pack."""
    return load_pack(PACK)


def at(day: date, clock: str) -> datetime:
    """An instant of a Hanoi day ("HH:MM" or "HH:MM:SS")."""
    return datetime.combine(day, datetime.strptime(clock, "%H:%M:%S" if clock.count(":") == 2
                                                   else "%H:%M").time(), HANOI)


def standing(pack: CityPack, feed: str, now: datetime, last: datetime | None) -> Standing:
    """Where `feed` stands at `now` with its newest observation at `last`."""
    return feed_hours(feed, pack).standing(now, last, LAG_ALLOWANCE_S[feed])


def test_at_half_past_two_brt_and_desks_are_idle_until_their_hours(pack: CityPack) -> None:
    for feed in BRT:
        assert standing(pack, feed, NIGHT, None) == Standing(idle=True,
                                                            resumes=at(MONDAY, "05:00"))
    assert standing(pack, "queues", NIGHT, None) == Standing(idle=True,
                                                             resumes=at(MONDAY, "08:00"))
    # Car parks report closed sites at night, three of them stay open all night, and
    # signals and online counts keep no hours: they owe data at any hour.
    for feed in ("parking", "parking_sessions", "signals", "online_services"):
        assert not standing(pack, feed, NIGHT, None).idle, feed


def test_at_ten_every_feed_owes_data(pack: CityPack) -> None:
    for feed in FEEDS:
        judged = standing(pack, feed, DAY, None)
        assert not judged.idle and judged.resumes is None, feed
    # Two minutes without a bus position in the day is a fault, as it always was.
    judged = standing(pack, "brt_vehicles", DAY, DAY - timedelta(minutes=2))
    assert judged.lag_s(DAY, DAY - timedelta(minutes=2)) == 120.0


def test_the_line_runs_from_its_first_departure_to_its_last_arrival() -> None:
    gtfs = load_gtfs(PACK / "brt")
    assert service_spans(gtfs, MONDAY) == [(at(MONDAY, "05:00"), at(MONDAY, "22:25:58"))]
    # Fares are tapped to board: the taps' hours end when the last bus sets out.
    assert service_spans(gtfs, MONDAY, boarding=True) == [(at(MONDAY, "05:00"),
                                                          at(MONDAY, "21:45"))]


def test_the_morning_is_not_judged_on_last_nights_silence(pack: CityPack) -> None:
    last_night = at(MONDAY, "22:22:50") - timedelta(days=1)
    assert standing(pack, "brt_vehicles", at(MONDAY, "04:59"), last_night) == Standing(
        idle=True, resumes=at(MONDAY, "05:00"))
    # The first bus has left; its first report may still be on its way.
    assert standing(pack, "brt_vehicles", at(MONDAY, "05:01"), last_night).idle
    fresh = standing(pack, "brt_vehicles", at(MONDAY, "05:01"), at(MONDAY, "05:00:55"))
    assert not fresh.idle and fresh.lag_s(at(MONDAY, "05:01"), at(MONDAY, "05:00:55")) == 5.0
    # Owed from PUNCTUALITY_S after the first departure; past its allowance it is late, by
    # the time since then, not since last night.
    owed_from = at(MONDAY, "05:00") + timedelta(seconds=PUNCTUALITY_S)
    late = owed_from + timedelta(seconds=LAG_ALLOWANCE_S["brt_vehicles"] + 1)
    judged = standing(pack, "brt_vehicles", late, last_night)
    assert judged == Standing(idle=False, owed_since=owed_from)
    assert judged.lag_s(late, last_night) == LAG_ALLOWANCE_S["brt_vehicles"] + 1


def test_the_last_bus_may_arrive_early_and_the_feed_then_rests(pack: CityPack) -> None:
    allowance = LAG_ALLOWANCE_S["brt_vehicles"]
    # The last bus reported at 22:21:50, four minutes before its scheduled arrival (within
    # PUNCTUALITY_S): never late, then idle once its allowance has passed, until tomorrow.
    last = at(MONDAY, "22:21:50")
    for second in range(0, 120):
        now = last + timedelta(seconds=second)
        judged = standing(pack, "brt_vehicles", now, last)
        assert judged.idle == (second > allowance), now
        assert judged.idle or judged.lag_s(now, last) == second
    assert standing(pack, "brt_vehicles", at(MONDAY, "22:30"), last) == Standing(
        idle=True, resumes=at(MONDAY + timedelta(days=1), "05:00"))
    # A feed that died at 22:15, while buses still ran, is late until the hours end.
    died = at(MONDAY, "22:15")
    owed_until = (at(MONDAY, "22:25:58") - timedelta(seconds=PUNCTUALITY_S)
                  + timedelta(seconds=allowance))
    before = owed_until - timedelta(seconds=1)
    judged = standing(pack, "brt_vehicles", before, died)
    assert not judged.idle and judged.lag_s(before, died) == (before - died).total_seconds()
    assert standing(pack, "brt_vehicles", owed_until, died).idle


def test_a_timetabled_service_runs_past_midnight_and_keeps_its_holidays() -> None:
    # Caltrain: stop_times trips (no frequencies) until 01:43 the next morning on weekdays,
    # and the weekend timetable on Thanksgiving through calendar_dates.
    gtfs = load_gtfs(shared_file("gtfs/caltrain/gtfs.zip"))
    zone = gtfs.timezone
    hours = Hours(functools.partial(service_spans, gtfs), zone)
    tuesday = date(2023, 11, 7)

    def local(day: date, hour: int, minute: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)

    wednesday = tuesday + timedelta(days=1)
    assert not hours.standing(local(wednesday, 0, 30), None, 60.0).idle
    assert hours.standing(local(wednesday, 2, 0), None, 60.0) == Standing(
        idle=True, resumes=local(wednesday, 4, 20))
    thanksgiving = date(2023, 11, 23)
    assert hours.standing(local(thanksgiving, 6, 0), None, 60.0) == Standing(
        idle=True, resumes=local(thanksgiving, 7, 12))


def test_taps_rest_once_the_last_bus_has_set_out(pack: CityPack) -> None:
    owed_until = (at(MONDAY, "21:45") - timedelta(seconds=PUNCTUALITY_S)
                  + timedelta(seconds=LAG_ALLOWANCE_S["brt_taps"]))
    last = at(MONDAY, "21:30")
    assert not standing(pack, "brt_taps", owed_until - timedelta(seconds=1), last).idle
    assert standing(pack, "brt_taps", owed_until, last).idle


def test_desks_rest_at_lunch_on_sundays_and_open_on_saturday_mornings(pack: CityPack) -> None:
    lunch = at(MONDAY, "12:30")
    assert standing(pack, "queues", lunch, at(MONDAY, "11:50")) == Standing(
        idle=True, resumes=at(MONDAY, "13:00"))
    sunday = MONDAY - timedelta(days=1)
    assert standing(pack, "queues", at(sunday, "10:00"), None) == Standing(
        idle=True, resumes=at(MONDAY, "08:00"))
    assert not standing(pack, "queues", at(sunday - timedelta(days=1), "10:00"), None).idle


def test_car_parks_open_all_night_leave_no_gap_at_midnight(pack: CityPack) -> None:
    # Three car parks are open 00:00-24:00: the sessions feed owes data across midnight, with
    # no morning grace at 00:00.
    midnight = at(MONDAY, "00:00:30")
    judged = standing(pack, "parking_sessions", midnight, midnight - timedelta(seconds=90))
    assert not judged.idle
    assert judged.lag_s(midnight, midnight - timedelta(seconds=90)) == 90.0


def test_a_source_without_hours_is_never_idle() -> None:
    hours = Hours.always()
    assert not hours.kept
    judged = hours.standing(NIGHT, None, 60.0)
    assert judged == Standing(idle=False)
    assert judged.lag_s(NIGHT, None) is None
    assert judged.lag_s(NIGHT, NIGHT - timedelta(hours=3)) == 3 * 3600.0


def test_opening_hours_join_sites_and_days() -> None:
    morning = {0: ((8 * 60, 12 * 60),)}
    all_day = {0: ((0, 24 * 60),), 1: ((0, 12 * 60),)}
    hours = opening_hours([morning, all_day], "Asia/Ho_Chi_Minh")
    assert hours.spans(MONDAY, MONDAY + timedelta(days=1)) == [
        (at(MONDAY, "00:00"), at(MONDAY + timedelta(days=1), "12:00"))]
    assert merge([(DAY, DAY + timedelta(hours=1)), (NIGHT, DAY)]) == [
        (NIGHT, DAY + timedelta(hours=1))]


@pytest.mark.parametrize("feed", BRT)
async def test_the_simulated_line_is_never_late_at_the_edges_of_its_hours(
    pack: CityPack, feed: str
) -> None:
    # The simulator and the schedule agree: polled at its interval from before the first
    # departure to after the last arrival, the feed is fresh or idle, never late.
    allowance = LAG_ALLOWANCE_S[feed]
    for first, end in ((at(MONDAY, "04:30"), at(MONDAY, "06:00")),
                       (at(MONDAY, "21:00"), at(MONDAY, "23:00"))):
        clock = Clock.pinned(first)
        source = build_feed(feed, pack, clock)
        hours = feed_hours(feed, pack)
        last: datetime | None = None
        states = set()
        now = first
        while now <= end:
            clock.set(now)
            for record in (o.to_record() for o in source.parse(await source.fetch()).observations):
                seen = datetime.fromisoformat(record.get("observed_at") or record["at"])
                last = seen if last is None or seen > last else last
            judged = hours.standing(now, last, allowance)
            lag = judged.lag_s(now, last)
            late = not judged.idle and (lag is None or lag > allowance)
            assert not late, f"{feed} late at {now.astimezone(HANOI)}, newest {last}"
            states.add(judged.idle)
            now += timedelta(seconds=source.interval_s)
        assert states == {True, False}
