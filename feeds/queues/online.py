"""Online public services: applications filed online per district and day, beside desk visits.

Levels: before Decree 42/2022/NĐ-CP, level 3 meant filing and processing online and level 4
also paying and receiving the result online or by post. The decree renamed them "partial"
(một phần) and "end-to-end" (toàn trình) online services; this model stores the new names
and reads either. Levels 1 and 2 (information, downloadable forms) are not filings.

These are district-day counts, not point observations: they carry a district code and no
position, so they do not pass through geo-tagging.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, tzinfo
from typing import Any, NamedTuple

import orjson

from feeds.base import Parsed, Rejected
from feeds.queues.model import TicketEvent

LEVELS = ("partial", "end_to_end")
_LEVEL_NAMES: dict[Any, str] = {
    3: "partial", "3": "partial", "partial": "partial", "một phần": "partial",
    4: "end_to_end", "4": "end_to_end", "end_to_end": "end_to_end", "end-to-end": "end_to_end",
    "toàn trình": "end_to_end",
}


class OnlineApplications(NamedTuple):
    """Applications filed online at one level, in one district, on one local day.

    Natural key (district, day, level): a later record for the same key is a correction.
    """

    district: str
    day: date
    level: str
    applications: int

    @property
    def key(self) -> tuple[str, date, str]:
        """The natural key: (district, day, level)."""
        return self.district, self.day, self.level

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-ready form."""
        return {"kind": "online_applications", "district": self.district,
                "day": self.day.isoformat(), "level": self.level,
                "applications": self.applications}


class InvalidApplications(ValueError):
    """One online-applications record broke the schema."""


def parse_applications_record(
    record: Any, districts: Collection[str] | None = None
) -> OnlineApplications:
    """Validate one record: district (GSO code), day (YYYY-MM-DD), level, applications."""
    if not isinstance(record, dict):
        raise InvalidApplications(f"a record must be an object, got {type(record).__name__}")
    district = record.get("district")
    if type(district) is not str or not district.isdigit() or len(district) != 3:
        raise InvalidApplications(f"district must be a 3-digit GSO code, got {district!r}")
    if districts is not None and district not in districts:
        raise InvalidApplications(f"unknown district {district!r}")
    day_text = record.get("day")
    try:
        day = date.fromisoformat(day_text) if type(day_text) is str else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidApplications(f"day must be a YYYY-MM-DD date, got {day_text!r}")
    raw_level = record.get("level")
    level = _LEVEL_NAMES.get(raw_level) if type(raw_level) in (int, str) else None
    if level is None:
        raise InvalidApplications(
            f"level must be 3/partial or 4/end-to-end (an online filing), got {raw_level!r}"
        )
    count = record.get("applications")
    if type(count) is not int or count < 0:
        raise InvalidApplications(f"applications must be a non-negative integer, got {count!r}")
    return OnlineApplications(district, day, level, count)


def parse_applications(
    payload: bytes, districts: Collection[str] | None = None
) -> Parsed[OnlineApplications]:
    """Parse JSON Lines or a batch {"applications": [...]}; bad records are rejected alone."""
    parsed: Parsed[OnlineApplications] = Parsed()
    try:
        document = orjson.loads(payload)
        records: list[tuple[Any, str]] = (
            [(r, orjson.dumps(r).decode()) for r in document["applications"]]
            if isinstance(document, dict) and isinstance(document.get("applications"), list)
            else [(document, payload.decode("utf-8", errors="replace"))]
        )
    except orjson.JSONDecodeError:
        records = []
        for line in filter(bytes.strip, payload.split(b"\n")):
            text = line.decode("utf-8", errors="replace")
            try:
                records.append((orjson.loads(line), text))
            except orjson.JSONDecodeError as err:
                parsed.rejected.append(Rejected(f"line is not JSON: {err}", text))
    for record, raw in records:
        try:
            parsed.observations.append(parse_applications_record(record, districts))
        except InvalidApplications as err:
            parsed.rejected.append(Rejected(str(err), raw))
    return parsed


class ChannelMix(NamedTuple):
    """One district-day: applications online by level next to tickets issued at the desks."""

    district: str | None
    day: date
    partial: int
    end_to_end: int
    counter_visits: int

    @property
    def online(self) -> int:
        """Applications filed online at either level."""
        return self.partial + self.end_to_end

    @property
    def online_share(self) -> float | None:
        """Online filings / (online filings + desk visits): Decision 766's online-uptake KPI."""
        total = self.online + self.counter_visits
        return self.online / total if total else None


def counter_visits(
    events: Iterable[TicketEvent], timezone: tzinfo
) -> dict[tuple[str | None, date], int]:
    """Tickets issued per (district, local day); untagged events count under district None."""
    seen: set[tuple[str, str]] = set()
    counts: dict[tuple[str | None, date], int] = {}
    for e in events:
        if e.event != "issued" or (e.point_id, e.ticket_id) in seen:
            continue
        seen.add((e.point_id, e.ticket_id))
        key = (e.district, e.at.astimezone(timezone).date())
        counts[key] = counts.get(key, 0) + 1
    return counts


def channel_mix(
    applications: Iterable[OnlineApplications], events: Iterable[TicketEvent], timezone: tzinfo
) -> list[ChannelMix]:
    """Online applications and desk visits side by side, per district and day, in order."""
    latest: dict[tuple[str | None, date, str], int] = {
        a.key: a.applications for a in applications
    }
    visits = counter_visits(events, timezone)
    keys = {(district, day) for district, day, _ in latest} | set(visits)
    return [
        ChannelMix(district, day, latest.get((district, day, "partial"), 0),
                   latest.get((district, day, "end_to_end"), 0), visits.get((district, day), 0))
        for district, day in sorted(keys, key=lambda k: (k[1], k[0] or ""))
    ]
