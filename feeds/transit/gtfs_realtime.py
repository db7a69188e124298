"""GTFS-Realtime FeedMessage parsing with the official bindings; bad entities rejected alone."""

from __future__ import annotations

import base64
import functools
import math
from datetime import UTC, date, datetime

from google.protobuf import text_format
from google.protobuf.message import DecodeError
from google.transit import gtfs_realtime_pb2 as rt

from feeds.base import Rejected
from feeds.transit.realtime_records import (
    ActivePeriod,
    Alert,
    InformedEntity,
    RealtimeFeed,
    StopTimeUpdate,
    Translation,
    TripUpdate,
    VehiclePosition,
)

_STATUS = rt.VehiclePosition.VehicleStopStatus
_OCCUPANCY = rt.VehiclePosition.OccupancyStatus
_TRIP_RELATION = rt.TripDescriptor.ScheduleRelationship
_STOP_RELATION = rt.TripUpdate.StopTimeUpdate.ScheduleRelationship


class InvalidEntity(ValueError):
    """One FeedEntity broke the GTFS-Realtime reference."""


def parse_feed(payload: bytes) -> RealtimeFeed:
    """Parse FeedMessage bytes; garbage is one reject, each bad entity is rejected alone."""
    feed = RealtimeFeed()
    message = rt.FeedMessage()
    try:
        # Parsing does not enforce proto2 `required` fields: entities are checked one by one.
        message.ParseFromString(payload)
    except DecodeError as err:
        feed.rejected.append(Rejected(f"payload is not a GTFS-Realtime FeedMessage: {err}",
                                      _binary(payload)))
        return feed
    if not message.header.gtfs_realtime_version:
        feed.rejected.append(Rejected("payload has no FeedMessage header "
                                      "(gtfs_realtime_version is missing)", _binary(payload)))
        return feed
    header = message.header
    try:
        feed.header_time = _instant(header.timestamp) if header.timestamp else None
    except InvalidEntity as err:
        feed.rejected.append(Rejected(f"header: {err}", _binary(payload)))
        return feed
    feed.incrementality = rt.FeedHeader.Incrementality.Name(header.incrementality)
    for entity in message.entity:
        try:
            _entity(entity, feed)
        except InvalidEntity as err:
            feed.rejected.append(Rejected(f"entity {entity.id!r}: {err}",
                                          text_format.MessageToString(entity, as_one_line=True)))
    return feed


def _binary(payload: bytes) -> str:
    return "base64:" + base64.b64encode(payload).decode("ascii")


def _entity(entity: rt.FeedEntity, feed: RealtimeFeed) -> None:
    if entity.is_deleted:
        feed.deleted.append(entity.id)
        return
    missing: list[str] = []
    # IsInitialized fills the list with the paths of missing required fields; the type stubs
    # leave that optional argument out.
    if not entity.IsInitialized(missing):  # type: ignore[call-arg]
        raise InvalidEntity(f"required field missing: {', '.join(missing)}")
    # All parts are checked before any is kept, so that a bad part rejects the whole entity.
    vehicle = _vehicle(entity, feed.header_time) if entity.HasField("vehicle") else None
    update = _trip_update(entity, feed.header_time) if entity.HasField("trip_update") else None
    alert = _alert(entity) if entity.HasField("alert") else None
    if vehicle is None and update is None and alert is None \
            and not any(entity.HasField(k) for k in ("shape", "stop", "trip_modifications")):
        raise InvalidEntity("carries no vehicle, trip_update or alert")
    if vehicle is not None:
        feed.vehicles.append(vehicle)
    if update is not None:
        feed.trip_updates.append(update)
    if alert is not None:
        feed.alerts.append(alert)


def _instant(seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as err:
        raise InvalidEntity(f"timestamp {seconds} is out of range") from err


def _coordinate(value: float, name: str, limit: float) -> float:
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise InvalidEntity(f"{name}={value} is outside [-{limit}, {limit}]")
    # Positions travel as 32-bit floats: 7 decimals (about 1 cm) is all they hold.
    return round(value, 7)


def _start_date(trip: rt.TripDescriptor) -> date | None:
    return _yyyymmdd(trip.start_date) if trip.start_date else None


@functools.lru_cache(maxsize=64)
def _yyyymmdd(text: str) -> date:
    # Cached: the trips of a snapshot share a date or two.
    try:
        if len(text) != 8 or not text.isdigit():
            raise ValueError(text)
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as err:
        raise InvalidEntity(f"start_date {text!r} is not YYYYMMDD") from err


def _vehicle(entity: rt.FeedEntity, header_time: datetime | None) -> VehiclePosition:
    vp = entity.vehicle
    if not vp.HasField("position"):
        raise InvalidEntity("vehicle position has no position")
    lat = _coordinate(vp.position.latitude, "latitude", 90)
    lon = _coordinate(vp.position.longitude, "longitude", 180)
    if lat == 0 and lon == 0:
        raise InvalidEntity("position 0,0 is a receiver without a fix, not a place")
    observed_at = _instant(vp.timestamp) if vp.timestamp else header_time
    if observed_at is None:
        raise InvalidEntity("no timestamp: neither the vehicle's nor the header's")
    bearing = vp.position.bearing if vp.position.HasField("bearing") else None
    if bearing is not None and not 0 <= bearing <= 360:
        raise InvalidEntity(f"bearing={bearing} is outside [0, 360]")
    speed = vp.position.speed if vp.position.HasField("speed") else None
    if speed is not None and not (math.isfinite(speed) and speed >= 0):
        raise InvalidEntity(f"speed={speed} is not a non-negative number")
    trip = vp.trip
    stop_known = vp.HasField("current_stop_sequence") or bool(vp.stop_id)
    # The reference assumes IN_TRANSIT_TO when a stop is given without a status.
    status = _STATUS.Name(vp.current_status) if vp.HasField("current_status") or stop_known \
        else None
    return VehiclePosition(
        # The vehicle's own id, else its label; the entity id is the last resort.
        vp.vehicle.id or vp.vehicle.label or entity.id,
        vp.vehicle.label or None, trip.trip_id or None, trip.route_id or None,
        trip.direction_id if trip.HasField("direction_id") else None, _start_date(trip),
        trip.start_time or None, observed_at, lon, lat,
        None if bearing is None else round(bearing, 1),
        None if speed is None else round(speed, 3),
        vp.current_stop_sequence if vp.HasField("current_stop_sequence") else None,
        vp.stop_id or None, status,
        _OCCUPANCY.Name(vp.occupancy_status) if vp.HasField("occupancy_status") else None,
        vp.occupancy_percentage if vp.HasField("occupancy_percentage") else None,
    )


def _event(update: rt.TripUpdate.StopTimeUpdate, name: str, where: str
           ) -> tuple[int | None, datetime | None]:
    if not update.HasField(name):
        return None, None
    event = getattr(update, name)
    if not (event.HasField("delay") or event.HasField("time")):
        raise InvalidEntity(f"{where} {name} has neither delay nor time")
    return (event.delay if event.HasField("delay") else None,
            _instant(event.time) if event.HasField("time") else None)


def _stop_time_update(update: rt.TripUpdate.StopTimeUpdate, index: int) -> StopTimeUpdate:
    where = f"stop_time_update #{index}"
    if not (update.HasField("stop_sequence") or update.stop_id):
        raise InvalidEntity(f"{where} has neither stop_sequence nor stop_id")
    relation = _STOP_RELATION.Name(update.schedule_relationship)
    arrival_delay, arrival_time = _event(update, "arrival", where)
    departure_delay, departure_time = _event(update, "departure", where)
    if relation == "SCHEDULED" and arrival_time is None and arrival_delay is None \
            and departure_time is None and departure_delay is None:
        raise InvalidEntity(f"{where} is SCHEDULED but has neither arrival nor departure")
    return StopTimeUpdate(
        update.stop_sequence if update.HasField("stop_sequence") else None,
        update.stop_id or None, arrival_delay, arrival_time, departure_delay, departure_time,
        relation)


def _trip_update(entity: rt.FeedEntity, header_time: datetime | None) -> TripUpdate:
    tu = entity.trip_update
    trip = tu.trip
    if not (trip.trip_id or trip.route_id):
        raise InvalidEntity("trip has neither trip_id nor route_id")
    updates = tuple(_stop_time_update(u, i) for i, u in enumerate(tu.stop_time_update))
    sequences = [u.stop_sequence for u in updates if u.stop_sequence is not None]
    # Equal sequences are tolerated (BART repeats one with distinct stop_ids): the stop_id
    # tells them apart. A sequence going back breaks the order the reference requires.
    if any(b < a for a, b in zip(sequences, sequences[1:], strict=False)):
        raise InvalidEntity("stop_time_updates are not in stop_sequence order")
    return TripUpdate(
        entity.id, trip.trip_id or None, trip.route_id or None,
        trip.direction_id if trip.HasField("direction_id") else None, _start_date(trip),
        trip.start_time or None, _TRIP_RELATION.Name(trip.schedule_relationship),
        tu.vehicle.id or tu.vehicle.label or None,
        _instant(tu.timestamp) if tu.timestamp else header_time,
        tu.delay if tu.HasField("delay") else None, updates)


def _translations(text: rt.TranslatedString) -> tuple[Translation, ...]:
    return tuple(Translation(t.text, t.language or None) for t in text.translation)


def _alert(entity: rt.FeedEntity) -> Alert:
    alert = entity.alert
    if not alert.informed_entity:
        raise InvalidEntity("alert has no informed_entity")
    header = _translations(alert.header_text)
    if not header:
        raise InvalidEntity("alert has no header_text")
    periods = tuple(ActivePeriod(_instant(p.start) if p.start else None,
                                 _instant(p.end) if p.end else None)
                    for p in alert.active_period)
    informed = tuple(InformedEntity(
        e.agency_id or None, e.route_id or None,
        e.route_type if e.HasField("route_type") else None,
        e.direction_id if e.HasField("direction_id") else None,
        e.trip.trip_id or None if e.HasField("trip") else None, e.stop_id or None)
        for e in alert.informed_entity)
    return Alert(entity.id, rt.Alert.Cause.Name(alert.cause), rt.Alert.Effect.Name(alert.effect),
                 periods, informed, header, _translations(alert.description_text),
                 _translations(alert.url))

