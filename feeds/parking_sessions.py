"""Parking sessions (iParking style): one vehicle's stay at a car park, reported twice.

A source reports a session when the vehicle comes in (no end, usually no amount) and again
when it leaves (with the end, and the amount once paid). Both reports are kept: the natural
key is (site_id, session_id, ended), where `ended` says whether ended_at is set, so a replay
of either report is stored once and the two never overwrite each other.

Privacy: a session never carries a plate number. A record with a plate field anywhere in it
is refused, and the copy kept for the dead letters has every plate value replaced.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

import orjson

from feeds.base import Parsed, Rejected, representable, utc_text
from feeds.parking import VEHICLE_TYPES

PLATE_FIELDS = frozenset({"plate", "licence_plate", "license_plate", "plate_number", "bien_so"})
PAYMENT_METHODS = ("app", "sms", "card", "cash")
MAX_ID_LENGTH = 64
# A longer stay is an exit the gate missed, not parking; a larger amount is a keying error.
MAX_STAY = timedelta(days=31)
MAX_AMOUNT_VND = 50_000_000
# Gates whose clock was reset report 1970 or 1 January 2000; no real session predates the feed.
EARLIEST = datetime(2000, 1, 2, tzinfo=UTC)
REDACTED = "[redacted]"
# A plate field's value in text that is not JSON (a line cut short), its quote maybe unclosed.
_PLATE_TEXT = re.compile(
    r'"(' + "|".join(sorted(PLATE_FIELDS)) + r')"(\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\s]*)'
)

# Car park id to its (lon, lat).
Sites = Mapping[str, tuple[float, float]]


class ParkingSession(NamedTuple):
    """One stay of one vehicle at one car park, as reported at its start or at its end.

    Natural key (site_id, session_id, ended): the start and the end are stored once each.
    Session ids need only be unique per car park over the retention period.
    """

    session_id: str
    site_id: str
    vehicle_type: str
    started_at: datetime
    ended_at: datetime | None  # None while the vehicle is still parked
    amount_vnd: int | None  # None until paid
    payment: str | None  # how the amount was paid; None without an amount
    lon: float
    lat: float
    district: str | None = None

    @property
    def ended(self) -> bool:
        """Whether this is the report of the session's end."""
        return self.ended_at is not None

    @property
    def key(self) -> tuple[str, str, bool]:
        """The natural key: (car park, session, ended)."""
        return self.site_id, self.session_id, self.ended

    def with_district(self, code: str | None) -> ParkingSession:
        """Return a copy tagged with its district code."""
        return self._replace(district=code)

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-ready form that travels on the bus (times in fixed-width UTC)."""
        return {
            "session_id": self.session_id,
            "site_id": self.site_id,
            "vehicle_type": self.vehicle_type,
            "started_at": utc_text(self.started_at),
            "ended_at": utc_text(self.ended_at) if self.ended_at is not None else None,
            "ended": self.ended,
            "amount_vnd": self.amount_vnd,
            "payment": self.payment,
            "lon": self.lon,
            "lat": self.lat,
            "district": self.district,
        }


class InvalidSession(ValueError):
    """One session record broke the schema."""


def site_positions(features: Iterable[Mapping[str, Any]]) -> dict[str, tuple[float, float]]:
    """Car park id to (lon, lat) from the pack's parking features (Point geometry)."""
    return {
        str(f["properties"]["id"]): (float(f["geometry"]["coordinates"][0]),
                                     float(f["geometry"]["coordinates"][1]))
        for f in features
    }


def _plate_paths(value: Any, prefix: str = "") -> list[str]:
    """Where plate fields sit in a decoded record, as dotted paths.

    Nested ones count too: a source may group the vehicle's details in an object of their own.
    """
    paths: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            paths += [f"{prefix}{k}"] if k in PLATE_FIELDS else _plate_paths(v, f"{prefix}{k}.")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            paths += _plate_paths(v, f"{prefix}{i}.")
    return paths


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k in PLATE_FIELDS else _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def _raw(record: Any) -> str:
    """The record as JSON for the dead letters, every plate value replaced."""
    return orjson.dumps(_redacted(record)).decode()


def _raw_text(data: bytes) -> str:
    """Undecodable text for the dead letters: plate values replaced, even if cut short."""
    text = data.decode("utf-8", errors="replace")
    return _PLATE_TEXT.sub(lambda m: f'"{m[1]}"{m[2]}"{REDACTED}"', text)


def _identifier(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if type(value) is not str or not value.strip():
        raise InvalidSession(f"{key} must be a non-empty string, got {value!r}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidSession(f"{key} is longer than {MAX_ID_LENGTH} characters")
    return value


def _instant(record: dict[str, Any], key: str) -> datetime:
    value = record.get(key)
    try:
        stamp = datetime.fromisoformat(value) if type(value) is str else None
    except ValueError:
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        raise InvalidSession(f"{key} must be ISO 8601 with a time zone, got {value!r}")
    if not representable(stamp):
        raise InvalidSession(f"{key} {value!r} is out of range")
    if stamp < EARLIEST:
        raise InvalidSession(f"{key} {value!r} is before 2000: the source clock is unset")
    return stamp


def _payment(record: dict[str, Any]) -> tuple[int | None, str | None]:
    amount, method = record.get("amount_vnd"), record.get("payment")
    if amount is not None and (type(amount) is not int or not 0 <= amount <= MAX_AMOUNT_VND):
        raise InvalidSession(
            f"amount_vnd must be an integer in [0, {MAX_AMOUNT_VND}] or null, got {amount!r}")
    if method is not None and method not in PAYMENT_METHODS:
        raise InvalidSession(
            f"payment must be one of {', '.join(PAYMENT_METHODS)} or null, got {method!r}")
    if amount is None and method is not None:
        raise InvalidSession("payment is given without an amount_vnd")
    if amount and method is None:
        raise InvalidSession(f"amount_vnd {amount} is given without its payment method")
    return amount, method


def parse_session(record: Any, sites: Sites) -> ParkingSession:
    """Validate one session record and place it at its car park."""
    if not isinstance(record, dict):
        raise InvalidSession(f"a session record must be an object, got {type(record).__name__}")
    plates = _plate_paths(record)
    if plates:
        raise InvalidSession(f"carries a plate number ({', '.join(plates)}): refused")
    session_id = _identifier(record, "session_id")
    site_id = _identifier(record, "site_id")
    position = sites.get(site_id)
    if position is None:
        raise InvalidSession(f"unknown car park {site_id!r}")
    vehicle_type = record.get("vehicle_type")
    if vehicle_type not in VEHICLE_TYPES:
        raise InvalidSession(
            f"vehicle_type must be one of {', '.join(VEHICLE_TYPES)}, got {vehicle_type!r}")
    started_at = _instant(record, "started_at")
    ended_at = None if record.get("ended_at") is None else _instant(record, "ended_at")
    if ended_at is not None and ended_at < started_at:
        raise InvalidSession(f"ended_at {record['ended_at']!r} is before started_at")
    if ended_at is not None and ended_at - started_at > MAX_STAY:
        raise InvalidSession(f"a stay of over {MAX_STAY.days} days: the exit was missed")
    amount, method = _payment(record)
    return ParkingSession(session_id, site_id, vehicle_type, started_at, ended_at, amount,
                          method, position[0], position[1])


def parse_sessions(payload: bytes, sites: Sites) -> Parsed[ParkingSession]:
    """Parse a document {"sessions": [...]} or JSON Lines; bad records are rejected alone."""
    parsed: Parsed[ParkingSession] = Parsed()
    records: list[Any] = []
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        # Several lines (or a truncated one): JSON Lines, where each line stands alone.
        for number, line in enumerate(payload.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError as err:
                parsed.rejected.append(Rejected(f"line {number} is not JSON: {err}",
                                                _raw_text(line)))
    else:
        if isinstance(document, dict) and "sessions" in document:
            if not isinstance(document["sessions"], list):
                parsed.rejected.append(Rejected("sessions must be a list", _raw(document)))
                return parsed
            records = document["sessions"]
        else:
            records = [document]  # one JSON Lines record alone
    for record in records:
        try:
            parsed.observations.append(parse_session(record, sites))
        except InvalidSession as err:
            parsed.rejected.append(Rejected(str(err), _raw(record)))
    return parsed


class ParkingSessionsFeed:
    """Parking sessions from a source returning a sessions document or JSON Lines."""

    mode: Literal["poll", "push"] = "poll"

    def __init__(
        self,
        source: Callable[[], Awaitable[bytes]],
        sites: Sites,
        interval_s: float = 10.0,
        name: str = "parking_sessions",
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self._source = source
        self._sites = sites

    async def fetch(self) -> bytes:
        """Return the next payload from the source."""
        return await self._source()

    def parse(self, payload: bytes) -> Parsed[ParkingSession]:
        """Parse a payload without I/O; sessions of car parks not in the directory are refused."""
        return parse_sessions(payload, self._sites)
