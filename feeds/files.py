"""File import: tabular exports (CSV, JSON Lines, Parquet) and protobuf snapshots as payloads.

A city's own export is read with a declared column mapping (our field = their column), so no
code is needed for a new layout. Values from CSV cells that read as numbers or booleans become
numbers or booleans, as a JSON source would send them; the feed's parser then validates every
record as it would a live payload.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from feeds.base import FeedError

# The field that carries each feed's source time, used to replay a file in time order.
TIME_FIELDS = {"parking": "observed_at", "signals": "time", "queues": "at"}
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
# An integer cell wider than 64 bits stays text: JSON cannot carry it, so the parser refuses it.
_INT64_DIGITS = 18


def _cell(text: str) -> Any:
    if _NUMBER.fullmatch(text):
        if any(c in text for c in ".eE"):
            return float(text)
        return int(text) if len(text.lstrip("-")) <= _INT64_DIGITS else text
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return None if text == "" else text


def read_records(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV, JSON Lines or Parquet file as dicts (the format from the extension)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                # Cells past the header (a trailing comma, a stray delimiter) have no field
                # name: csv files them under None, and they are left out.
                return [{k: _cell(v or "") for k, v in row.items() if k is not None}
                        for row in csv.DictReader(handle)]
        if suffix in (".jsonl", ".ndjson"):
            return [_line(n, line) for n, line in enumerate(path.read_bytes().splitlines(), 1)
                    if line.strip()]
        if suffix == ".parquet":
            return [
                {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
                for row in pq.read_table(path).to_pylist()
            ]
    except (OSError, UnicodeDecodeError, csv.Error, pa.ArrowException) as err:
        raise FeedError(f"cannot read {path}: {err}") from err
    raise FeedError(f"{path}: unsupported format {suffix!r} (csv, jsonl, parquet or pb)")


def _line(number: int, line: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        # Kept as text so the feed's parser rejects it with the others, line by line.
        return {"__unparsed__": line.decode("utf-8", errors="replace"), "__line__": number}
    return value if isinstance(value, dict) else {"__unparsed__": str(value), "__line__": number}


def apply_mapping(records: Iterable[dict[str, Any]], mapping: Mapping[str, str]
                  ) -> list[dict[str, Any]]:
    """Rename each record's columns to our fields (`mapping` is ours -> theirs)."""
    theirs = {their: ours for ours, their in mapping.items()}
    return [{theirs.get(k, k): v for k, v in r.items()} for r in records]


def parking_document(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Flat rows (one per site, time and vehicle type) as an occupancy document."""
    sites: dict[tuple[Any, Any], dict[str, Any]] = {}
    for row in rows:
        if "vehicles" in row:  # already a site record
            sites[(id(row), None)] = row
            continue
        key = (_hashable(row.get("id")), _hashable(row.get("observed_at")))
        site = sites.setdefault(key, {
            "id": row.get("id"), "lon": row.get("lon"), "lat": row.get("lat"),
            "open": row.get("open", True), "observed_at": row.get("observed_at"),
            "vehicles": {},
        })
        vehicle = row.get("vehicle_type")
        # JSON keys are text: a missing or odd type becomes text the parser refuses by name.
        if not isinstance(vehicle, str):
            vehicle = orjson.dumps(vehicle, default=str).decode()
        site["vehicles"][vehicle] = {
            "capacity": row.get("capacity"), "occupied": row.get("occupied")}
    return {"sites": list(sites.values())}


def _hashable(value: Any) -> Any:
    # Lists and objects where an id or a time belongs: grouped by their text, refused later.
    return orjson.dumps(value, default=str) if isinstance(value, list | dict) else value


def to_payload(feed: str, records: list[dict[str, Any]]) -> bytes:
    """The payload a feed's parser reads, from mapped records."""
    if feed == "parking":
        return orjson.dumps(parking_document(records))
    lines = [r["__unparsed__"].encode() if "__unparsed__" in r else orjson.dumps(r)
             for r in records]
    return b"\n".join(lines) + b"\n"


def replay_plan(
    feed: str, records: list[dict[str, Any]], speed: float | None, chunk: int = 5000
) -> Iterator[tuple[float, list[dict[str, Any]]]]:
    """(seconds to wait, records) in source-time order: at `speed`, or at once in chunks.

    At a speed, records sharing a source second go together, and the wait before each group
    is the source time elapsed since the previous group divided by the speed.
    """
    if speed is None:
        for start in range(0, len(records), chunk):
            yield 0.0, records[start:start + chunk]
        return
    field = TIME_FIELDS.get(feed)
    if field is None:
        raise FeedError(f"feed {feed!r} cannot be replayed at a speed: no time field")
    stamps = [(_stamp(r.get(field)), i) for i, r in enumerate(records)]
    unreadable = [records[i] for stamp, i in stamps if stamp is None]
    if unreadable:
        # Sent first, at once: the parser rejects them with a reason.
        yield 0.0, unreadable
    previous: float | None = None
    group: list[dict[str, Any]] = []
    second = 0.0
    for stamp, i in sorted((s, i) for s, i in stamps if s is not None):
        if group and stamp >= second + 1:
            yield (0.0 if previous is None else (second - previous) / speed), group
            previous, group = second, []
        if not group:
            second = stamp
        group.append(records[i])
    if group:
        yield (0.0 if previous is None else (second - previous) / speed), group


def _stamp(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None
