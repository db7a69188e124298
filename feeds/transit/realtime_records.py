"""GTFS-Realtime records: vehicle positions (observations), trip updates, alerts, one snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from feeds.base import Rejected, utc_text


class VehiclePosition(NamedTuple):
    """Where one vehicle was at its own report time; enums keep their GTFS-Realtime names.

    The natural key is (vehicle_id, observed_at): a replayed snapshot is stored once.
    """

    vehicle_id: str
    label: str | None
    trip_id: str | None
    route_id: str | None
    direction_id: int | None
    start_date: date | None
    start_time: str | None
    observed_at: datetime
    lon: float
    lat: float
    bearing: float | None
    speed: float | None  # metres per second
    current_stop_sequence: int | None
    stop_id: str | None
    current_status: str | None  # INCOMING_AT, STOPPED_AT or IN_TRANSIT_TO
    occupancy_status: str | None  # EMPTY ... FULL, NOT_ACCEPTING_PASSENGERS ...
    occupancy_percentage: int | None
    district: str | None = None

    def with_district(self, code: str | None) -> VehiclePosition:
        """Return a copy tagged with its district code."""
        return self._replace(district=code)

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-ready form that travels on the bus."""
        record = self._asdict()
        record["observed_at"] = utc_text(self.observed_at)
        record["start_date"] = self.start_date.isoformat() if self.start_date else None
        return record


class StopTimeUpdate(NamedTuple):
    """A prediction or record for one stop of a trip; delays in seconds, late is positive."""

    stop_sequence: int | None
    stop_id: str | None
    arrival_delay: int | None
    arrival_time: datetime | None
    departure_delay: int | None
    departure_time: datetime | None
    schedule_relationship: str  # SCHEDULED, SKIPPED, NO_DATA or UNSCHEDULED


class TripUpdate(NamedTuple):
    """Realtime progress of one trip instance; ADDED trips are absent from the static feed."""

    entity_id: str
    trip_id: str | None
    route_id: str | None
    direction_id: int | None
    start_date: date | None
    start_time: str | None
    schedule_relationship: str  # SCHEDULED, ADDED, UNSCHEDULED, CANCELED, ...
    vehicle_id: str | None
    timestamp: datetime | None
    delay: int | None
    stop_time_updates: tuple[StopTimeUpdate, ...]


class StopEvent(NamedTuple):
    """One stop of a trip update, placed at its stop: an arrival to come or one just made.

    The natural key is (trip_id, start_date, start_time, stop_sequence, stop_id, observed_at).
    """

    trip_id: str | None
    route_id: str | None
    direction_id: int | None
    start_date: date | None
    start_time: str | None
    trip_relationship: str
    vehicle_id: str | None
    stop_sequence: int | None
    stop_id: str
    arrival_time: datetime | None
    departure_time: datetime | None
    delay: int | None  # seconds late at the stop (early is negative), None when unknown
    stop_relationship: str
    observed_at: datetime
    lon: float
    lat: float
    district: str | None = None

    def with_district(self, code: str | None) -> StopEvent:
        """Return a copy tagged with its district code."""
        return self._replace(district=code)

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-ready form that travels on the bus."""
        record = self._asdict()
        for name in ("arrival_time", "departure_time", "observed_at"):
            stamp = record[name]
            record[name] = utc_text(stamp) if stamp is not None else None
        record["start_date"] = self.start_date.isoformat() if self.start_date else None
        return record


class Translation(NamedTuple):
    """One language's version of a text; language None when the feed did not say."""

    text: str
    language: str | None


class ActivePeriod(NamedTuple):
    """When an alert applies; a missing bound is open."""

    start: datetime | None
    end: datetime | None


class InformedEntity(NamedTuple):
    """What an alert is about: an agency, route, direction, trip or stop, or a mix."""

    agency_id: str | None
    route_id: str | None
    route_type: int | None
    direction_id: int | None
    trip_id: str | None
    stop_id: str | None


class Alert(NamedTuple):
    """A service alert; no active period means always active."""

    alert_id: str
    cause: str
    effect: str
    active_periods: tuple[ActivePeriod, ...]
    informed_entities: tuple[InformedEntity, ...]
    header_text: tuple[Translation, ...]
    description_text: tuple[Translation, ...]
    url: tuple[Translation, ...]

    def text(self, language: str | None = None) -> str:
        """The header in a language (prefix match, e.g. "en" for "en-US"), else the first."""
        for translation in self.header_text:
            if language and (translation.language or "").startswith(language):
                return translation.text
        return self.header_text[0].text


@dataclass(slots=True)
class RealtimeFeed:
    """One parsed FeedMessage: what it holds, by kind, and the entities it rejected."""

    header_time: datetime | None = None
    incrementality: str = "FULL_DATASET"
    vehicles: list[VehiclePosition] = field(default_factory=list)
    trip_updates: list[TripUpdate] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # entity ids (differential feeds)
    rejected: list[Rejected] = field(default_factory=list)
