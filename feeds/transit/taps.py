"""Smart-card taps: a record that never keeps the card number, and boardings per stop and hour."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import orjson

from feeds.base import Parsed, Rejected, representable


class Tap(NamedTuple):
    """One boarding tap: who (a keyed hash of the card), where and when."""

    card_hash: str
    stop_id: str
    at: datetime


def card_hash(card_number: str, key: bytes) -> str:
    """HMAC-SHA256 of a card number under a secret key, as hex.

    A plain hash would not do: card numbers are few enough to hash them all and look the
    result up. Without the key, the hash tells only that two taps share a card.
    """
    return hmac.new(key, card_number.encode(), hashlib.sha256).hexdigest()


class InvalidTap(ValueError):
    """One tap record broke the expected form."""


def _tap(record: Any, key: bytes) -> Tap:
    if not isinstance(record, dict):
        raise InvalidTap(f"a tap must be an object, got {type(record).__name__}")
    card, stop, when = record.get("card"), record.get("stop_id"), record.get("time")
    if not isinstance(card, str) or not card.strip():
        raise InvalidTap("card must be a non-empty string")
    if not isinstance(stop, str) or not stop.strip():
        raise InvalidTap("stop_id must be a non-empty string")
    try:
        at = datetime.fromisoformat(when) if isinstance(when, str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise InvalidTap(f"time must be ISO 8601 with a time zone, got {when!r}")
    if not representable(at):
        raise InvalidTap(f"time {when!r} is out of range")
    return Tap(card_hash(card.strip(), key), stop, at)


def _redacted(record: Any, key: bytes) -> str:
    """A rejected record as kept for the dead-letter store: the card number hashed."""
    if not isinstance(record, dict):
        # Not an object: nothing says which part is a card number, so none of it is kept.
        return f"<{type(record).__name__} withheld>"
    if "card" in record:
        record = {**record, "card": "hmac:" + card_hash(str(record["card"]).strip(), key)}
    return orjson.dumps(record, default=str).decode()


def parse_taps(payload: bytes, key: bytes) -> Parsed[Tap]:
    """Parse a JSON list of {card, stop_id, time}; bad taps are rejected alone, card hashed."""
    parsed: Parsed[Tap] = Parsed()
    try:
        records = orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        # The payload may hold card numbers: keep only its size, never its text.
        parsed.rejected.append(Rejected(f"payload is not JSON: {err}",
                                        f"<{len(payload)} bytes withheld>"))
        return parsed
    if not isinstance(records, list):
        parsed.rejected.append(Rejected("payload is not a list of taps",
                                        f"<{len(payload)} bytes withheld>"))
        return parsed
    for record in records:
        try:
            parsed.observations.append(_tap(record, key))
        except InvalidTap as err:
            parsed.rejected.append(Rejected(str(err), _redacted(record, key)))
    return parsed


def boardings_per_stop_hour(taps: Iterable[Tap], zone: ZoneInfo, repeat_s: float = 120.0
                            ) -> dict[tuple[str, datetime], int]:
    """Boardings per (stop, local hour start); one card's taps at a stop within repeat_s
    of its previous tap there count once (a second tap after a reader beep is common)."""
    window = timedelta(seconds=repeat_s)
    last: dict[tuple[str, str], datetime] = {}
    counts: Counter[tuple[str, datetime]] = Counter()
    for tap in sorted(taps, key=lambda t: t.at):
        previous = last.get((tap.card_hash, tap.stop_id))
        last[tap.card_hash, tap.stop_id] = tap.at
        if previous is not None and tap.at - previous <= window:
            continue
        hour = tap.at.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        counts[tap.stop_id, hour] += 1
    return dict(counts)
