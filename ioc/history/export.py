"""Exports of stored rows as CSV, Parquet or GeoJSON, streamed chunk by chunk.

Rows are read in time windows (each sorted by time in the database, so the file is in time
order without sorting the whole range), through a server-side cursor, a chunk at a time;
every writer turns one chunk into bytes before the next is read, so memory holds one chunk
whatever the range. Parquet gets a row group per chunk, written to an in-memory buffer that
is handed on and emptied; GeoJSON is one FeatureCollection written feature by feature.

Personal data: no column that could follow a person leaves through an export. BRT taps are
exported without their card hash (the keyed hash links one card's journeys across days,
which boardings per stop and hour do not need); parking sessions carry no plate (the feed
refuses them) and queue tickets no holder, so they are exported whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import orjson
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

Format = Literal["csv", "parquet", "geojson"]
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "geojson": "application/geo+json",
}
CHUNK_ROWS: dict[str, int] = {"csv": 5_000, "geojson": 5_000, "parquet": 50_000}

_TIME = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class Column:
    """An exported column: its name, the SQL that selects it, its Parquet type."""

    name: str
    kind: pa.DataType
    sql: str | None = None


@dataclass(frozen=True, slots=True)
class Dataset:
    """A stored table as an export: its columns, time column, and how rows are placed.

    `place` is the pack's asset kind that `asset` names ("parking", "signals",
    "service_points", "stops"), "self" for rows with their own lon/lat, or None for rows
    placed no finer than a district.
    """

    table: str
    columns: tuple[Column, ...]
    asset: str | None
    place: str | None
    window: timedelta
    time: str = "time"
    daily: bool = False


def _cols(*spec: tuple[str, pa.DataType] | Column) -> tuple[Column, ...]:
    return tuple(c if isinstance(c, Column) else Column(*c) for c in spec)


_S, _I16, _I32, _I64, _F, _B = pa.string(), pa.int16(), pa.int32(), pa.int64(), pa.float64(), \
    pa.bool_()
DATASETS: dict[str, Dataset] = {
    "parking": Dataset("parking_occupancy", _cols(
        ("time", _TIME), ("site_id", _S), ("vehicle_type", _S), ("district", _S),
        ("capacity", _I32), ("occupied", _I32), ("status", _S)),
        "site_id", "parking", timedelta(days=1)),
    "parking_sessions": Dataset("parking_sessions", _cols(
        ("time", _TIME), ("site_id", _S), ("session_id", _S), ("ended", _B),
        ("vehicle_type", _S), ("ended_at", _TIME), ("amount_vnd", _I64), ("payment", _S),
        ("district", _S)), "site_id", "parking", timedelta(days=7)),
    "signals": Dataset("signal_events", _cols(
        ("time", _TIME), ("signal_id", _S), ("event_code", _I16), ("parameter", _I32),
        ("district", _S)), "signal_id", "signals", timedelta(minutes=30)),
    "signal_status": Dataset("signal_status", _cols(
        ("time", _TIME), ("signal_id", _S), ("state", _S), ("reason", _S), ("since", _TIME),
        ("district", _S)), "signal_id", "signals", timedelta(days=7)),
    "queues": Dataset("queue_ticket_events", _cols(
        ("time", _TIME), ("point_id", _S), ("ticket_id", _S), ("event", _S),
        ("service_type", _S), ("counter_id", _S), ("district", _S)),
        "point_id", "service_points", timedelta(days=1)),
    "queue_counters": Dataset("queue_counter_snapshots", _cols(
        ("time", _TIME), ("point_id", _S), ("counters_open", _I32), ("waiting_total", _I32),
        Column("waiting", _S, "waiting::text"), ("district", _S)),
        "point_id", "service_points", timedelta(days=1)),
    "brt_vehicles": Dataset("brt_vehicle_positions", _cols(
        ("time", _TIME), ("vehicle_id", _S), ("trip_id", _S), ("route_id", _S),
        ("direction_id", _I16), ("stop_id", _S), ("stop_sequence", _I32), ("status", _S),
        ("occupancy", _S), ("lon", _F), ("lat", _F), ("district", _S)),
        None, "self", timedelta(days=1)),
    "brt_trips": Dataset("brt_stop_events", _cols(
        ("time", _TIME), ("trip_id", _S), ("start_date", _S), ("start_time", _S),
        ("stop_sequence", _I32), ("stop_id", _S), ("route_id", _S), ("direction_id", _I16),
        ("vehicle_id", _S), ("arrival_time", _TIME), ("departure_time", _TIME),
        ("delay_s", _I32), ("district", _S)), "stop_id", "stops", timedelta(days=1)),
    # card_hash is left out on purpose (module docstring).
    "brt_taps": Dataset("brt_taps", _cols(
        ("time", _TIME), ("stop_id", _S), ("district", _S)),
        "stop_id", "stops", timedelta(days=1)),
    "online_services": Dataset("online_applications", _cols(
        ("day", pa.date32()), ("district", _S), ("level", _S), ("applications", _I32)),
        None, None, timedelta(days=31), time="day", daily=True),
}

Places = Mapping[str, Mapping[str, tuple[float, float]]]
BBox = tuple[float, float, float, float]


class ExportError(ValueError):
    """An export that cannot be made as asked (the reason is for the user)."""


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What to export: a dataset, a time range [start, end), and optional area filters."""

    feed: str
    start: datetime
    end: datetime
    district: str | None = None
    bbox: BBox | None = None

    @property
    def dataset(self) -> Dataset:
        """The dataset asked for (ExportError when unknown)."""
        try:
            return DATASETS[self.feed]
        except KeyError:
            raise ExportError(f"unknown feed {self.feed!r}; known: {sorted(DATASETS)}") from None


def parse_bbox(text: str) -> BBox:
    """`min_lon,min_lat,max_lon,max_lat` (ExportError when malformed)."""
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise ExportError("bbox must be min_lon,min_lat,max_lon,max_lat") from None
    if not (west <= east and south <= north):
        raise ExportError("bbox must be min_lon,min_lat,max_lon,max_lat")
    return west, south, east, north


def _filters(request: ExportRequest, places: Places) -> tuple[str, list[Any]]:
    data = request.dataset
    sql, params = "", list[Any]()
    if request.district is not None:
        sql += " AND district = %s"
        params.append(request.district)
    if request.bbox is not None:
        west, south, east, north = request.bbox
        if data.place == "self":
            sql += " AND lon BETWEEN %s AND %s AND lat BETWEEN %s AND %s"
            params += [west, east, south, north]
        elif data.place is not None and data.asset is not None:
            inside = [i for i, (x, y) in places.get(data.place, {}).items()
                      if west <= x <= east and south <= y <= north]
            sql += f" AND {data.asset} = ANY(%s)"
            params.append(inside)
        else:
            raise ExportError(f"{request.feed} is located by district only: filter by district")
    return sql, params


def _windows(request: ExportRequest, zone: ZoneInfo) -> list[tuple[Any, Any]]:
    data = request.dataset
    if data.daily:  # days are the city's calendar days, from start's day to end's (excluded)
        first, last = request.start.astimezone(zone).date(), request.end.astimezone(zone).date()
        days: list[tuple[Any, Any]] = []
        while first < last:
            following = min(first + timedelta(days=data.window.days), last)
            days.append((first, following))
            first = following
        return days
    edges: list[tuple[Any, Any]] = []
    lower = request.start
    while lower < request.end:
        upper = min(lower + data.window, request.end)
        edges.append((lower, upper))
        lower = upper
    return edges


def validate(request: ExportRequest, places: Places) -> None:
    """Raise ExportError for a request that cannot be served (before any byte is sent)."""
    if not request.start < request.end:
        raise ExportError("start must come before end")
    _filters(request, places)


async def read_chunks(
    conn: psycopg.AsyncConnection, request: ExportRequest, places: Places, zone: ZoneInfo,
    chunk_rows: int,
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The rows asked for, in time order, a chunk at a time (inside a transaction: the
    server-side cursor needs one)."""
    data = request.dataset
    where, params = _filters(request, places)
    names = ", ".join(c.sql or c.name for c in data.columns)
    order = data.time if data.asset is None else f"{data.time}, {data.asset}"
    query = (f"SELECT {names} FROM {data.table}"  # noqa: S608 (names from DATASETS only)
             f" WHERE {data.time} >= %s AND {data.time} < %s{where} ORDER BY {order}")
    for lower, upper in _windows(request, zone):
        async with conn.cursor(name="export") as cur:
            await cur.execute(query, [lower, upper, *params])
            while rows := await cur.fetchmany(chunk_rows):
                yield rows


def _text(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


async def csv_bytes(data: Dataset, chunks: AsyncIterator[list[tuple[Any, ...]]]
                    ) -> AsyncIterator[bytes]:
    """CSV with a header row; times in ISO 8601 with their offset; empty for none."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in data.columns])
    async for rows in chunks:
        writer.writerows([[_text(v) for v in row] for row in rows])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()


class _Sink:
    """A write-only file that keeps what is written until it is drained."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        """Nothing to flush: the bytes wait for `drain`."""

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def arrow_schema(data: Dataset) -> pa.Schema:
    """The Parquet schema of a dataset."""
    return pa.schema([(c.name, c.kind) for c in data.columns])


async def parquet_bytes(data: Dataset, chunks: AsyncIterator[list[tuple[Any, ...]]]
                        ) -> AsyncIterator[bytes]:
    """Parquet, a row group per chunk, each handed on as soon as it is written."""
    schema = arrow_schema(data)
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        async for rows in chunks:
            columns = list(zip(*rows, strict=True))
            arrays = [pa.array(values, type=field.type)
                      for values, field in zip(columns, schema, strict=True)]
            table = pa.Table.from_arrays(arrays, schema=schema)
            writer.write_table(table, row_group_size=len(rows))
            yield sink.drain()
    finally:
        writer.close()
    yield sink.drain()


def _locator(data: Dataset, places: Places) -> Callable[[tuple[Any, ...]], Any]:
    names = [c.name for c in data.columns]
    if data.place == "self":
        x, y = names.index("lon"), names.index("lat")
        return lambda row: {"type": "Point", "coordinates": [row[x], row[y]]}
    if data.place is None or data.asset is None:
        return lambda row: None
    where = places.get(data.place, {})
    key = names.index(data.asset)

    def locate(row: tuple[Any, ...]) -> Any:
        point = where.get(row[key])
        return None if point is None else {"type": "Point", "coordinates": list(point)}

    return locate


async def geojson_bytes(data: Dataset, chunks: AsyncIterator[list[tuple[Any, ...]]],
                        places: Places) -> AsyncIterator[bytes]:
    """A GeoJSON FeatureCollection written feature by feature: a point for rows placed by
    their asset or their own position, a null geometry for rows known by district only."""
    names = [c.name for c in data.columns]
    locate = _locator(data, places)
    yield b'{"type":"FeatureCollection","features":['
    first = True
    async for rows in chunks:
        features = [
            orjson.dumps({"type": "Feature", "geometry": locate(row),
                          "properties": dict(zip(names, row, strict=True))})
            for row in rows
        ]
        yield (b"" if first else b",") + b",".join(features)
        first = False
    yield b"]}"


def export_bytes(fmt: Format, data: Dataset, chunks: AsyncIterator[list[tuple[Any, ...]]],
                 places: Places) -> AsyncIterator[bytes]:
    """The bytes of an export in the asked format."""
    if fmt == "csv":
        return csv_bytes(data, chunks)
    if fmt == "parquet":
        return parquet_bytes(data, chunks)
    return geojson_bytes(data, chunks, places)


def file_name(request: ExportRequest, fmt: Format) -> str:
    """A download name: feed, range (UTC) and extension."""
    first, last = (t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
                   for t in (request.start, request.end))
    return f"{request.feed}_{first}_{last}.{fmt}"
