"""GTFS-Realtime FeedMessages built from simulated bus reports, with the official bindings."""

from __future__ import annotations

from collections.abc import Sequence

from google.transit import gtfs_realtime_pb2 as rt

from feeds.transit.sim_bus import BusReport


def _message(at: float) -> rt.FeedMessage:
    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.incrementality = rt.FeedHeader.FULL_DATASET
    message.header.timestamp = int(at)
    return message


def _trip(bus: BusReport) -> rt.TripDescriptor:
    return rt.TripDescriptor(trip_id=bus.trip_id, route_id=bus.route_id,
                             direction_id=bus.direction_id, start_date=bus.start_date,
                             start_time=bus.start_time, schedule_relationship="SCHEDULED")


def vehicle_message(buses: Sequence[BusReport], at: float) -> bytes:
    """A VehiclePositions FeedMessage, serialised."""
    message = _message(at)
    for bus in buses:
        message.entity.add(id=f"vehicle-{bus.vehicle_id}", vehicle=rt.VehiclePosition(
            trip=_trip(bus),
            vehicle=rt.VehicleDescriptor(id=bus.vehicle_id, label=bus.vehicle_id),
            position=rt.Position(latitude=bus.lat, longitude=bus.lon, bearing=bus.bearing,
                                 speed=bus.speed),
            current_stop_sequence=bus.stop_sequence, stop_id=bus.stop_id,
            current_status=bus.status, timestamp=int(at), occupancy_status=bus.occupancy,
            occupancy_percentage=bus.occupancy_percentage))
    return message.SerializeToString()


def trip_message(buses: Sequence[BusReport], at: float) -> bytes:
    """A TripUpdates FeedMessage, serialised: times made at past stops, predicted at others.

    Times rather than delays: for a headway-based trip (exact_times=0) a delay against the
    template's clock times would mean nothing.
    """
    message = _message(at)
    for bus in buses:
        entity = message.entity.add(id=f"trip-{bus.vehicle_id}-{bus.start_date}-{bus.start_time}")
        tu = entity.trip_update
        tu.trip.CopyFrom(_trip(bus))
        tu.vehicle.id = bus.vehicle_id
        tu.timestamp = int(at)
        for sequence, stop_id, arrival, departure in bus.calls:
            update = tu.stop_time_update.add()
            update.stop_sequence = sequence
            update.stop_id = stop_id
            update.arrival.time = int(arrival)
            update.departure.time = int(departure)
    return message.SerializeToString()
