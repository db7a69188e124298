"""The queue payload parser: JSON Lines or a JSON batch document in, observations out.

JSON Lines: one record per line, each with "kind": "ticket" or "counters".
Batch document: {"tickets": [...], "counters": [...]} (records there may omit "kind").
A bad record is rejected alone, with its reason; the others go through.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from feeds.base import Parsed, Rejected, representable
from feeds.queues.model import EVENTS, EVENTS_AT_A_COUNTER, CounterSnapshot, TicketEvent
from feeds.queues.points import ServicePoint

# Field names a queue system might use for a person; a record that has any is refused.
PERSONAL_FIELDS = frozenset({
    "name", "full_name", "citizen_name", "citizen_id", "id_number", "cccd", "cmnd",
    "passport", "phone", "email", "address", "birth_date", "date_of_birth",
})
MAX_ID_LENGTH = 64
# More people than this waiting at one desk is a corrupt counter, not a queue.
MAX_WAITING = 5_000
# Kiosks whose clock was reset report 1970 or 1 January 2000 (local: hence the 2nd, UTC);
# no real event predates the feed.
EARLIEST = datetime(2000, 1, 2, tzinfo=UTC)

ParsedQueues = Parsed[TicketEvent | CounterSnapshot]


class InvalidRecord(ValueError):
    """One queue record broke the schema."""


def _identifier(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if type(value) is not str or not value or value.isspace():
        raise InvalidRecord(f"{key} must be a non-empty string, got {value!r}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidRecord(f"{key} is longer than {MAX_ID_LENGTH} characters")
    return value


def _time(record: dict[str, Any]) -> datetime:
    value = record.get("at")
    if type(value) is not str:
        raise InvalidRecord(f"at must be an ISO 8601 string, got {value!r}")
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError as err:
        raise InvalidRecord(f"at {value!r} is not ISO 8601") from err
    if stamp.tzinfo is None:
        raise InvalidRecord(f"at {value!r} has no time zone")
    if not representable(stamp):
        raise InvalidRecord(f"at {value!r} is out of range")
    if stamp < EARLIEST:
        raise InvalidRecord(f"at {value!r} is before 2000: the source clock is unset")
    return stamp


def _point(record: dict[str, Any], points: Mapping[str, ServicePoint]) -> ServicePoint:
    point_id = _identifier(record, "point_id")
    point = points.get(point_id)
    if point is None:
        raise InvalidRecord(f"unknown service point {point_id!r}")
    return point


def _offered(point: ServicePoint, service_type: str) -> None:
    if service_type not in point.service_types:
        raise InvalidRecord(f"service type {service_type!r} is not offered at {point.id!r}")


def _ticket(record: dict[str, Any], points: Mapping[str, ServicePoint]) -> TicketEvent:
    point = _point(record, points)
    ticket_id = _identifier(record, "ticket_id")
    event = record.get("event")
    if event not in EVENTS:
        raise InvalidRecord(f"unknown event {event!r}; expected one of {', '.join(EVENTS)}")
    service_type = _identifier(record, "service_type")
    _offered(point, service_type)
    counter_id = record.get("counter_id")
    if counter_id is None:
        if event in EVENTS_AT_A_COUNTER:
            raise InvalidRecord(f"a {event} event needs the counter_id where it happened")
    else:
        counter_id = _identifier(record, "counter_id")
    return TicketEvent(
        point.id, ticket_id, event, _time(record), service_type, counter_id, point.lon, point.lat
    )


def _snapshot(record: dict[str, Any], points: Mapping[str, ServicePoint]) -> CounterSnapshot:
    point = _point(record, points)
    at = _time(record)
    counters_open = record.get("counters_open")
    if type(counters_open) is not int or counters_open < 0:
        raise InvalidRecord(f"counters_open must be a non-negative integer, got {counters_open!r}")
    if counters_open > point.counters:
        raise InvalidRecord(
            f"counters_open {counters_open} exceeds the {point.counters} counters of {point.id!r}"
        )
    waiting = record.get("waiting")
    if not isinstance(waiting, dict):
        raise InvalidRecord("waiting must be an object of service type to count")
    for service_type, count in waiting.items():
        _offered(point, service_type)
        if type(count) is not int or not 0 <= count <= MAX_WAITING:
            raise InvalidRecord(
                f"waiting.{service_type} must be an integer in [0, {MAX_WAITING}], got {count!r}"
            )
    return CounterSnapshot(point.id, at, counters_open, waiting, point.lon, point.lat)


def parse_record(
    record: Any, points: Mapping[str, ServicePoint], kind: str | None = None
) -> TicketEvent | CounterSnapshot:
    """Validate one record (its "kind" field, or `kind` when the record has none)."""
    if not isinstance(record, dict):
        raise InvalidRecord(f"a record must be an object, got {type(record).__name__}")
    personal = PERSONAL_FIELDS.intersection(record)
    if personal:
        raise InvalidRecord(f"carries personal data ({', '.join(sorted(personal))}): refused")
    kind = record.get("kind", kind)
    if kind == "ticket":
        return _ticket(record, points)
    if kind == "counters":
        return _snapshot(record, points)
    raise InvalidRecord(f"kind must be 'ticket' or 'counters', got {kind!r}")


def _raw(record: Any) -> str:
    """The record as JSON, with any personal field blanked so the dead letters hold none."""
    if isinstance(record, dict) and not PERSONAL_FIELDS.isdisjoint(record):
        record = {k: "[redacted]" if k in PERSONAL_FIELDS else v for k, v in record.items()}
    return orjson.dumps(record).decode()


def _take(
    parsed: ParsedQueues, record: Any, points: Mapping[str, ServicePoint], kind: str | None
) -> None:
    try:
        parsed.observations.append(parse_record(record, points, kind))
    except InvalidRecord as err:
        parsed.rejected.append(Rejected(str(err), _raw(record)))


def parse_lines(payload: bytes, points: Mapping[str, ServicePoint]) -> ParsedQueues:
    """Parse JSON Lines; a line that is not JSON (e.g. truncated) is rejected alone."""
    parsed: ParsedQueues = Parsed()
    for number, line in enumerate(payload.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            text = line.decode("utf-8", errors="replace")
            parsed.rejected.append(Rejected(f"line {number} is not JSON: {err}", text))
            continue
        _take(parsed, record, points, None)
    return parsed


def parse_batch(document: Any, points: Mapping[str, ServicePoint]) -> ParsedQueues:
    """Parse a decoded batch document {"tickets": [...], "counters": [...]}."""
    parsed: ParsedQueues = Parsed()
    lists = {kind: document.get(key) for kind, key in (("ticket", "tickets"),
                                                        ("counters", "counters"))}
    for kind, records in lists.items():
        if records is None:
            continue
        if not isinstance(records, list):
            reason = f"batch member for {kind} records is not a list"
            parsed.rejected.append(Rejected(reason, _raw(records)))
            continue
        for record in records:
            _take(parsed, record, points, kind)
    return parsed


def parse_payload(payload: bytes, points: Mapping[str, ServicePoint]) -> ParsedQueues:
    """Parse either format: a batch document if the payload is one, JSON Lines otherwise."""
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        # Several lines (or a truncated one): JSON Lines, where each line stands alone.
        return parse_lines(payload, points)
    if isinstance(document, dict) and ("tickets" in document or "counters" in document):
        return parse_batch(document, points)
    parsed: ParsedQueues = Parsed()
    _take(parsed, document, points, None)
    return parsed
