"""GTFS-Realtime parsing: recorded Caltrain and BART snapshots, and malformed messages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
import pytest
from google.transit import gtfs_realtime_pb2 as rt

from feeds.transit.gtfs_realtime import parse_feed
from feeds.transit.gtfs_static import load_gtfs
from feeds.transit.realtime_match import stop_delay, stop_events, unmatched
from tests.conftest import shared_file


def _read(relative: str) -> bytes:
    return shared_file(relative).read_bytes()


def test_caltrain_vehicle_positions() -> None:
    feed = parse_feed(_read("gtfs/caltrain/vehicle-positions.pb"))
    assert feed.rejected == []
    assert len(feed.vehicles) == 14
    assert feed.header_time == datetime(2023, 11, 8, 1, 5, 59, tzinfo=UTC)
    [train] = [v for v in feed.vehicles if v.vehicle_id == "124"]
    assert (train.lat, train.lon) == (37.3704605, -121.9960403)
    assert (train.trip_id, train.route_id, train.direction_id) == ("124", "L1", 1)
    assert train.observed_at == datetime(2023, 11, 8, 1, 5, 49, tzinfo=UTC)
    # No stop in the report, so no status is made up; empty labels become None.
    assert (train.current_status, train.stop_id, train.label) == (None, None, None)
    record = orjson.loads(orjson.dumps(train.with_district("x").to_record()))
    assert record["observed_at"] == "2023-11-08T01:05:49.000000+00:00"
    assert record["district"] == "x"


def test_caltrain_trip_updates_and_a_delay_against_the_timetable() -> None:
    static = load_gtfs(shared_file("gtfs/caltrain/gtfs.zip"))
    feed = parse_feed(_read("gtfs/caltrain/trip-updates.pb"))
    assert feed.rejected == []
    assert len(feed.trip_updates) == 19
    [trip] = [t for t in feed.trip_updates if t.trip_id == "124"]
    assert (trip.start_date, trip.start_time) == (date(2023, 11, 7), "15:37:00")
    by_stop = {u.stop_id: u for u in trip.stop_time_updates}
    # Mountain View (70242, sequence 21): predicted 17:10:01 PST, scheduled 17:09:00.
    update = by_stop["70242"]
    assert update.stop_sequence == 21
    assert update.arrival_time == datetime(2023, 11, 8, 1, 10, 1, tzinfo=UTC)
    assert update.arrival_delay is None
    assert stop_delay(static, trip, update) == 61
    # The stop just left has a departure only: 17:05:04 against 17:03:00.
    assert stop_delay(static, trip, by_stop["70232"]) == 124


def test_every_caltrain_realtime_trip_and_stop_is_in_the_static_feed() -> None:
    static = load_gtfs(shared_file("gtfs/caltrain/gtfs.zip"))
    for name in ("vehicle-positions.pb", "trip-updates.pb"):
        assert unmatched(parse_feed(_read(f"gtfs/caltrain/{name}")), static) == []
    events = stop_events(parse_feed(_read("gtfs/caltrain/trip-updates.pb")), static)
    assert events.rejected == [] and len(events.observations) == 220


def test_bart_trip_updates_with_added_trips() -> None:
    feed = parse_feed(_read("gtfs/bart/trip-updates.pb"))
    assert len(feed.trip_updates) + len(feed.rejected) == 91
    # One update really is out of order (stop_sequence 17 then 16): it alone is rejected.
    [bad] = feed.rejected
    assert bad.reason == "entity '3711056WKDY': stop_time_updates are not in stop_sequence order"
    assert 'trip_id: "3711056WKDY"' in bad.raw
    added = [t for t in feed.trip_updates if t.schedule_relationship == "ADDED"]
    assert len(added) == 8
    [first] = [t for t in added if t.trip_id == "1051042WKDY"]
    start = first.stop_time_updates[0]
    assert (start.stop_sequence, start.stop_id, start.arrival_delay) == (0, "SHAY", 27)
    assert start.arrival_time == datetime(2019, 8, 7, 17, 46, 5, tzinfo=UTC)


def test_bart_realtime_against_its_older_static_feed() -> None:
    static = load_gtfs(shared_file("gtfs/bart/gtfs.zip"))
    problems = unmatched(parse_feed(_read("gtfs/bart/trip-updates.pb")), static)
    assert not [p for p in problems if "unknown stop" in p]
    unknown = sorted(p.split("'")[1] for p in problems if "unknown trip" in p)
    # The eBART shuttle trips are newer than static version 49; ADDED trips are not looked up.
    assert unknown == [f"{n}WKDY" for n in range(246, 266) if n not in (247, 264)]


def test_bart_alert() -> None:
    feed = parse_feed(_read("gtfs/bart/alerts.pb"))
    assert feed.rejected == []
    [alert] = feed.alerts
    assert (alert.alert_id, alert.cause, alert.effect) == (
        "BSA_187874", "MEDICAL_EMERGENCY", "SIGNIFICANT_DELAYS")
    assert alert.text("en").startswith("There is a major delay at Montgomery St.")
    assert "Montgomery station is currently closed." in alert.text()
    assert alert.header_text[0].language == "en-US"
    assert alert.active_periods == ()
    assert [e.agency_id for e in alert.informed_entities] == ["BART"]
    assert alert.url[0].text == "http://www.bart.gov/schedules/advisories"


def test_truncated_or_garbage_payloads_are_one_clear_reject() -> None:
    payload = _read("gtfs/caltrain/vehicle-positions.pb")
    for broken in (payload[: len(payload) // 2], b"<html>502 Bad Gateway</html>"):
        feed = parse_feed(broken)
        assert feed.vehicles == []
        [reject] = feed.rejected
        assert reject.reason.startswith("payload is not a GTFS-Realtime FeedMessage")
        assert reject.raw.startswith("base64:")
    [empty] = parse_feed(b"").rejected
    assert "no FeedMessage header" in empty.reason


def _message(*entities: rt.FeedEntity) -> bytes:
    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.timestamp = 1_790_000_000
    message.entity.extend(entities)
    # Partial: a real producer's bug can send a message missing required fields.
    return message.SerializePartialToString()


def _vehicle(entity_id: str, lat: float | None = 21.03, lon: float | None = 105.83
             ) -> rt.FeedEntity:
    entity = rt.FeedEntity(id=entity_id, vehicle=rt.VehiclePosition(
        vehicle=rt.VehicleDescriptor(id=entity_id), trip=rt.TripDescriptor(trip_id="BRT01_0"),
        current_stop_sequence=3, stop_id="BRT01_03", current_status="STOPPED_AT",
        occupancy_status="STANDING_ROOM_ONLY"))
    if lat is not None:
        entity.vehicle.position.latitude = lat
    if lon is not None:
        entity.vehicle.position.longitude = lon
    return entity


def test_bad_entities_are_rejected_one_by_one() -> None:
    no_stop = rt.FeedEntity(id="tu-no-stop", trip_update=rt.TripUpdate(
        trip=rt.TripDescriptor(trip_id="T"),
        stop_time_update=[rt.TripUpdate.StopTimeUpdate(arrival=rt.TripUpdate.StopTimeEvent(
            delay=30))]))
    no_time = rt.FeedEntity(id="tu-no-time", trip_update=rt.TripUpdate(
        trip=rt.TripDescriptor(trip_id="T"),
        stop_time_update=[rt.TripUpdate.StopTimeUpdate(stop_sequence=1,
                                                        arrival=rt.TripUpdate.StopTimeEvent())]))
    no_entity = rt.FeedEntity(id="alert-nobody", alert=rt.Alert(
        header_text=rt.TranslatedString(translation=[
            rt.TranslatedString.Translation(text="x")])))
    payload = _message(
        _vehicle("good-1"), _vehicle("no-lat", lat=None), _vehicle("far-north", lat=95.0),
        _vehicle("null-island", lat=0.0, lon=0.0), rt.FeedEntity(id="no-position", vehicle=(
            rt.VehiclePosition(vehicle=rt.VehicleDescriptor(id="v")))),
        no_stop, no_time, no_entity, rt.FeedEntity(id="empty"), _vehicle("good-2"))
    feed = parse_feed(payload)
    assert [v.vehicle_id for v in feed.vehicles] == ["good-1", "good-2"]
    good = feed.vehicles[0]
    assert (good.current_status, good.occupancy_status, good.current_stop_sequence) == (
        "STOPPED_AT", "STANDING_ROOM_ONLY", 3)
    assert good.observed_at == datetime.fromtimestamp(1_790_000_000, UTC)  # header's time
    assert [r.reason for r in feed.rejected] == [
        "entity 'no-lat': required field missing: vehicle.position.latitude",
        "entity 'far-north': latitude=95.0 is outside [-90, 90]",
        "entity 'null-island': position 0,0 is a receiver without a fix, not a place",
        "entity 'no-position': vehicle position has no position",
        "entity 'tu-no-stop': stop_time_update #0 has neither stop_sequence nor stop_id",
        "entity 'tu-no-time': stop_time_update #0 arrival has neither delay nor time",
        "entity 'alert-nobody': alert has no informed_entity",
        "entity 'empty': carries no vehicle, trip_update or alert",
    ]
    assert feed.rejected[0].raw.startswith('id: "no-lat" vehicle {')


@pytest.mark.parametrize("stamp", [0, 2**63])
def test_a_vehicle_without_a_usable_time_is_rejected(stamp: int) -> None:
    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    entity = _vehicle("v1")
    entity.vehicle.timestamp = stamp
    message.entity.append(entity)
    [reject] = parse_feed(message.SerializeToString()).rejected
    assert "timestamp" in reject.reason


def test_deleted_entities_are_listed_not_parsed() -> None:
    feed = parse_feed(_message(rt.FeedEntity(id="gone", is_deleted=True), _vehicle("v")))
    assert feed.deleted == ["gone"] and len(feed.vehicles) == 1


def test_alert_periods_entities_and_texts() -> None:
    alert = rt.Alert(
        active_period=[rt.TimeRange(start=1_790_000_000), rt.TimeRange(end=1_790_003_600)],
        informed_entity=[rt.EntitySelector(route_id="BRT01", direction_id=1),
                         rt.EntitySelector(stop_id="BRT01_12")],
        cause="CONSTRUCTION", effect="DETOUR",
        header_text=rt.TranslatedString(translation=[
            rt.TranslatedString.Translation(text="Trạm Mỗ Lao tạm đóng", language="vi"),
            rt.TranslatedString.Translation(text="Mỗ Lao station closed", language="en")]),
        description_text=rt.TranslatedString(translation=[
            rt.TranslatedString.Translation(text="Buses do not stop.")]))
    [parsed] = parse_feed(_message(rt.FeedEntity(id="a1", alert=alert))).alerts
    assert parsed.active_periods == (
        (datetime.fromtimestamp(1_790_000_000, UTC), None),
        (None, datetime.fromtimestamp(1_790_003_600, UTC)))
    assert [(e.route_id, e.direction_id, e.stop_id) for e in parsed.informed_entities] == [
        ("BRT01", 1, None), (None, None, "BRT01_12")]
    assert (parsed.cause, parsed.effect) == ("CONSTRUCTION", "DETOUR")
    assert (parsed.text(), parsed.text("en")) == ("Trạm Mỗ Lao tạm đóng", "Mỗ Lao station closed")
    assert parsed.description_text[0] == ("Buses do not stop.", None)
