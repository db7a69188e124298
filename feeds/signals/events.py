"""The controller event model (Indiana enumeration) and its CSV and JSON Lines parsers."""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import orjson

from feeds.base import Parsed, Rejected, representable, utc_text
from feeds.signals.codes import MAX_EVENT_CODE

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
MAX_PARAMETER = 65535
_TENTH_US = 100_000

# Where each signal stands, by id; the parser stamps events with it.
Locations = Mapping[str, tuple[float, float]]


class SignalEvent(NamedTuple):
    """One row of a high-resolution controller log: what happened, where, to 0.1 s.

    A named tuple: ingest must build 50,000 a second. The natural key is
    (signal_id, time, event_code, parameter); a replayed event is the same event.
    """

    signal_id: str
    time: datetime
    event_code: int
    parameter: int
    lon: float = math.nan
    lat: float = math.nan
    district: str | None = None

    @property
    def key(self) -> tuple[str, datetime, int, int]:
        """The natural key under which the event is stored once."""
        return (self.signal_id, self.time, self.event_code, self.parameter)

    def with_district(self, code: str | None) -> SignalEvent:
        """Return a copy tagged with its district code."""
        return self._replace(district=code)

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-ready form that travels on the bus (time as fixed-width UTC)."""
        return {
            "signal_id": self.signal_id,
            "time": utc_text(self.time),
            "event_code": self.event_code,
            "parameter": self.parameter,
            "lon": self.lon,
            "lat": self.lat,
            "district": self.district,
        }


class CsvColumns(NamedTuple):
    """Which CSV column holds each field (defaults: the ATSPM export)."""

    time: str = "TimeStamp"
    signal_id: str = "DeviceId"
    event_code: str = "EventId"
    parameter: str = "Parameter"


ATSPM_COLUMNS = CsvColumns()


class InvalidEvent(ValueError):
    """One event record broke the log's schema."""


@functools.lru_cache(maxsize=64)
def zone_info(name: str) -> tzinfo:
    """The IANA zone of that name (cached)."""
    return ZoneInfo(name)


def _tenths(stamp: datetime) -> datetime:
    """Round to the log's 0.1 s resolution, so equal events get equal natural keys."""
    extra = stamp.microsecond % _TENTH_US
    if not extra:
        return stamp
    step = _TENTH_US - extra if extra >= _TENTH_US // 2 else -extra
    return stamp + timedelta(microseconds=step)


class _Builder:
    """Turns validated fields into events; shared by both formats so the rules are one."""

    def __init__(self, zone: str, locations: Locations | None) -> None:
        self.zone = zone_info(zone)
        self.locations = locations
        self.times: dict[str, datetime] = {}  # a log repeats each instant for several events

    def time(self, text: Any) -> datetime:
        if not isinstance(text, str):
            raise InvalidEvent(f"time must be an ISO 8601 string, got {text!r}")
        stamp = self.times.get(text)
        if stamp is None:
            try:
                stamp = datetime.fromisoformat(text.strip())
            except ValueError as err:
                raise InvalidEvent(f"time {text!r} is not an ISO 8601 time") from err
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=self.zone)
            try:
                stamp = _tenths(stamp)
            except OverflowError:
                stamp = None
            if stamp is None or not representable(stamp):
                raise InvalidEvent(f"time {text!r} is out of range")
            self.times[text] = stamp
        return stamp

    def event(self, signal_id: str, stamp: datetime, code: int, parameter: int) -> SignalEvent:
        if not signal_id:
            raise InvalidEvent("signal id is empty")
        if not 0 <= code <= MAX_EVENT_CODE:
            raise InvalidEvent(f"event code {code} is outside the Indiana enumeration (0-255)")
        if parameter < 0:
            raise InvalidEvent(f"parameter {parameter} is negative")
        if parameter > MAX_PARAMETER:
            raise InvalidEvent(f"parameter {parameter} exceeds {MAX_PARAMETER}")
        if self.locations is None:
            return SignalEvent(signal_id, stamp, code, parameter)
        try:
            lon, lat = self.locations[signal_id]
        except KeyError:
            raise InvalidEvent(f"unknown signal id {signal_id!r}") from None
        return SignalEvent(signal_id, stamp, code, parameter, lon, lat)


def _integer(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidEvent(f"{name} {text!r} is not an integer") from None


def _decode(payload: bytes, parsed: Parsed[Any]) -> str | None:
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raw = payload.decode("utf-8", errors="replace")
        parsed.rejected.append(Rejected(f"payload is not UTF-8: {err}", raw))
        return None


def parse_csv(
    payload: bytes,
    *,
    columns: CsvColumns = ATSPM_COLUMNS,
    zone: str = DEFAULT_ZONE,
    locations: Locations | None = None,
) -> Parsed[SignalEvent]:
    """Parse a CSV event log; bad rows are rejected one by one, a bad header rejects the file.

    Times without an offset are local time in `zone`. With `locations`, events of a signal
    it does not know are rejected; without, events carry no position (offline analysis).
    """
    parsed: Parsed[SignalEvent] = Parsed()
    text = _decode(payload, parsed)
    if text is None:
        return parsed
    lines = text.splitlines()
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return parsed
    names = [name.strip() for name in header]
    missing = [col for col in columns if col not in names]
    if missing:
        reason = f"missing column(s) {', '.join(missing)}; the header has {', '.join(names)}"
        parsed.rejected.append(Rejected(reason, lines[0]))
        return parsed
    at_time, at_signal, at_code, at_param = (names.index(col) for col in columns)
    width = len(names)
    build = _Builder(zone, locations)
    keep, reject = parsed.observations.append, parsed.rejected.append
    for row in reader:
        if not row:
            continue
        try:
            if len(row) != width:
                raise InvalidEvent(f"expected {width} fields, got {len(row)}")
            keep(build.event(
                row[at_signal].strip(),
                build.time(row[at_time]),
                _integer(columns.event_code, row[at_code]),
                _integer(columns.parameter, row[at_param]),
            ))
        except InvalidEvent as err:
            reject(Rejected(str(err), lines[reader.line_num - 1]))
    return parsed


def _json_integer(record: dict[str, Any], key: str) -> int:
    value = record.get(key)
    # `type(...) is int` rather than isinstance: bool is an int subclass and must be refused.
    if type(value) is not int:
        raise InvalidEvent(f"{key} must be an integer, got {value!r}")
    return value


def _json_signal(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if type(value) is int and value >= 0:
        return str(value)
    raise InvalidEvent(f"signal_id must be a string or a non-negative integer, got {value!r}")


def parse_jsonl(
    payload: bytes, *, zone: str = DEFAULT_ZONE, locations: Locations | None = None
) -> Parsed[SignalEvent]:
    """Parse JSON Lines events {signal_id, time, event_code, parameter}, rejecting line by line."""
    parsed: Parsed[SignalEvent] = Parsed()
    text = _decode(payload, parsed)
    if text is None:
        return parsed
    build = _Builder(zone, locations)
    loads: Callable[[str], Any] = orjson.loads
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            try:
                record = loads(line)
            except orjson.JSONDecodeError as err:
                raise InvalidEvent(f"line is not JSON: {err}") from err
            if not isinstance(record, dict):
                raise InvalidEvent(f"an event must be an object, got {type(record).__name__}")
            parsed.observations.append(build.event(
                _json_signal(record.get("signal_id")),
                build.time(record.get("time")),
                _json_integer(record, "event_code"),
                _json_integer(record, "parameter"),
            ))
        except InvalidEvent as err:
            parsed.rejected.append(Rejected(str(err), line))
    return parsed


def to_jsonl(events: list[tuple[str, datetime, int, int]]) -> bytes:
    """Serialise (signal_id, time, event_code, parameter) rows in the format parse_jsonl reads."""
    return b"".join(
        orjson.dumps({
            "signal_id": signal_id,
            "time": stamp.isoformat(timespec="milliseconds"),
            "event_code": code,
            "parameter": parameter,
        }) + b"\n"
        for signal_id, stamp, code, parameter in events
    )
