"""The BRT feeds: the feed interface, observations the runner can tag, the Hanoi pack."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import orjson
from google.transit import gtfs_realtime_pb2 as rt

from feeds.base import Feed, Observation, geo_tag
from feeds.transit.feed import BrtTripFeed, BrtVehicleFeed, simulated_brt_feeds
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.realtime_records import StopEvent, VehiclePosition
from feeds.transit.simulator import BrtSimulator
from tests.conftest import shared_file

PACK_BRT = Path(__file__).resolve().parents[3] / "packs" / "hanoi" / "brt"


def test_the_hanoi_brt_pack_is_line_01() -> None:
    feed = load_gtfs(PACK_BRT)
    assert feed.rejected == []
    assert len(feed.stops) == 21
    assert str(feed.timezone) == "Asia/Ho_Chi_Minh"
    names = [feed.stops[c.stop_id].name for c in feed.stop_times["BRT01_0"]]
    assert (names[0], names[-1]) == ("Kim Mã", "Bến xe Yên Nghĩa")
    assert names == [feed.stops[c.stop_id].name for c in reversed(feed.stop_times["BRT01_1"])]
    for trip in ("BRT01_0", "BRT01_1"):
        calls = feed.stop_times[trip]
        end_to_end = (calls[-1].arrival_s or 0) - (calls[0].departure_s or 0)
        assert 40 * 60 <= end_to_end <= 42 * 60
        windows = feed.frequencies[trip]
        assert {w.headway_s for w in windows} == {300, 600, 900}
        assert (windows[0].start_s, windows[-1].end_s) == (5 * 3600, 22 * 3600)
        assert not any(w.exact_times for w in windows)
    # Every station inside Hanoi's inner south-west, in order along the path.
    assert all(20.9 < (s.lat or 0) < 21.1 and 105.7 < (s.lon or 0) < 105.9
               for s in feed.stops.values())
    along = [c.shape_dist or 0.0 for c in feed.stop_times["BRT01_0"]]
    assert along == sorted(along)


async def test_simulated_feeds_fetch_and_parse_without_io() -> None:
    static = load_gtfs(PACK_BRT)
    clock = datetime(2026, 11, 23, 8, tzinfo=static.timezone)
    vehicles, trips = simulated_brt_feeds(static, BrtSimulator(static, now=lambda: clock))
    feeds: list[Feed] = [vehicles, trips]
    assert [(f.name, f.mode) for f in feeds] == [("brt_vehicles", "poll"), ("brt_trips", "poll")]
    positions = vehicles.parse(await vehicles.fetch())
    events = trips.parse(await trips.fetch())
    assert positions.rejected == [] and events.rejected == []
    assert len(positions.observations) >= 14
    assert len(events.observations) == 21 * len(positions.observations)
    event = events.observations[0]
    stop = static.stops[event.stop_id]
    assert (event.lon, event.lat) == (stop.lon, stop.lat)
    # A headway-based trip is late against its own start_time plus the template's run times.
    assert (event.stop_sequence, event.delay) == (1, 0)


def _by_longitude(lons: Sequence[float], lats: Sequence[float]) -> list[str | None]:
    return [f"{lon:.1f}" for lon in lons]


def _tag(observations: list[Observation]) -> list[Observation]:
    return geo_tag(observations, _by_longitude)


def test_observations_tag_and_travel_as_json() -> None:
    static = load_gtfs(shared_file("gtfs/caltrain/gtfs.zip"))
    vehicles = BrtVehicleFeed(_never).parse(
        shared_file("gtfs/caltrain/vehicle-positions.pb").read_bytes())
    events = BrtTripFeed(_never, static).parse(
        shared_file("gtfs/caltrain/trip-updates.pb").read_bytes())
    tagged = _tag([*vehicles.observations, *events.observations])
    assert len(tagged) == 14 + 220
    for observation in tagged:
        assert isinstance(observation, VehiclePosition | StopEvent)
        record = observation.to_record()
        assert record["district"] == f"{observation.lon:.1f}"
        assert orjson.loads(orjson.dumps(record)) == record
    [event] = [e for e in events.observations
               if e.trip_id == "124" and e.stop_id == "70242"]
    assert event.delay == 61
    assert event.to_record()["arrival_time"] == "2023-11-08T01:10:01.000000+00:00"


def test_the_trip_feed_rejects_stops_it_cannot_place() -> None:
    static = load_gtfs(PACK_BRT)
    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.timestamp = int(datetime(2026, 11, 23).timestamp())
    update = message.entity.add(id="t").trip_update
    update.trip.trip_id = "BRT01_0"
    for sequence, stop in ((1, "BRT01_01"), (2, "NOT_A_STOP"), (3, "")):
        stop_update = update.stop_time_update.add(stop_sequence=sequence)
        if stop:
            stop_update.stop_id = stop
        stop_update.arrival.time = message.header.timestamp + 60 * sequence
    parsed = BrtTripFeed(_never, static).parse(message.SerializeToString())
    # A stop given by sequence only is found through the static trip.
    assert [e.stop_id for e in parsed.observations] == ["BRT01_01", "BRT01_03"]
    [reject] = parsed.rejected
    assert reject.reason == ("trip 'BRT01_0': stop 'NOT_A_STOP' is not in the static feed "
                             "or has no position")
    assert orjson.loads(reject.raw)["update"]["stop_id"] == "NOT_A_STOP"
    assert parsed.observations[0].arrival_time == (
        datetime(2026, 11, 23) + timedelta(minutes=1)).astimezone()


async def _never() -> bytes:
    raise AssertionError("parse must not fetch")
