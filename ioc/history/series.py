"""KPI series over any range for a district, an asset or the whole city, and two periods
aligned for comparison; answered from the roll-ups, or from raw rows for checking."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from ioc.history.rollups import ROLLUPS, WIDTHS, Kpi, Rollup, ceil, floor, parameters, raw_select

MAX_POINTS = 10_000
MAX_RANGE = timedelta(days=800)
_OFFSET = re.compile(r"^(\d{1,4})(m|h|d|w)$")
_OFFSET_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
                 "w": timedelta(weeks=1)}


class SeriesError(ValueError):
    """A request that cannot be answered, with the reason for the caller."""


@dataclass(frozen=True, slots=True)
class SeriesRequest:
    """One KPI over [start, end) at `width`, for a district, an asset, or (neither) the city."""

    rollup: Rollup
    kpi: Kpi
    start: datetime
    end: datetime
    width: str
    district: str | None = None
    asset: str | None = None

    @property
    def buckets(self) -> list[datetime]:
        """Every bucket start of the range, in order."""
        step = WIDTHS[self.width]
        first, last = floor(self.start, self.width), ceil(self.end, self.width)
        return [first + i * step for i in range((last - first) // step)]

    def to_json(self) -> dict[str, Any]:
        """What was asked, as the API echoes it."""
        return {"feed": self.rollup.name, "kpi": self.kpi.name, "unit": self.kpi.unit,
                "description": self.kpi.description, "bucket": self.width,
                "start": self.start.isoformat(), "end": self.end.isoformat(),
                "district": self.district, "asset": self.asset}


def pick_width(start: datetime, end: datetime) -> str:
    """The server's bucket for a range: up to 6 hours 1m, up to 7 days 15m, else 1h."""
    span = end - start
    if span <= timedelta(hours=6):
        return "1m"
    if span <= timedelta(days=7):
        return "15m"
    return "1h"


def parse_offset(text: str) -> timedelta:
    """A relative offset such as "7d", "1w", "24h" or "90m"."""
    match = _OFFSET.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise SeriesError(f"offset {text!r} is not a positive count of m, h, d or w "
                          "(e.g. 7d for a week earlier)")
    return int(match.group(1)) * _OFFSET_UNITS[match.group(2)]


def request(feed: str, kpi: str, start: datetime, end: datetime, width: str | None = None,
            district: str | None = None, asset: str | None = None) -> SeriesRequest:
    """A checked request (SeriesError with the reason when it cannot be answered)."""
    rollup = ROLLUPS.get(feed)
    if rollup is None:
        raise SeriesError(f"unknown feed {feed!r}; known: {', '.join(ROLLUPS)}")
    try:
        figure = rollup.kpi(kpi)
    except KeyError:
        raise SeriesError(f"{feed} has no KPI {kpi!r}; known: "
                          f"{', '.join(k.name for k in rollup.kpis)}") from None
    if start.tzinfo is None or end.tzinfo is None:
        raise SeriesError("start and end need a time zone (e.g. 2026-11-23T07:00+07:00)")
    if not start < end:
        raise SeriesError("start must be before end")
    if end - start > MAX_RANGE:
        raise SeriesError(f"the range may span at most {MAX_RANGE.days} days")
    if district is not None and asset is not None:
        raise SeriesError("ask for a district or an asset, not both")
    width = width or pick_width(start, end)
    if width not in WIDTHS:
        raise SeriesError(f"bucket {width!r} is not one of {', '.join(WIDTHS)}")
    asked = SeriesRequest(rollup, figure, start, end, width, district, asset)
    if (ceil(end, width) - floor(start, width)) // WIDTHS[width] > MAX_POINTS:
        raise SeriesError(f"that is more than {MAX_POINTS} buckets of {width}; "
                          "ask for a wider bucket or a shorter range")
    return asked


def _filter(asked: SeriesRequest, district: str, asset: str) -> tuple[str, dict[str, Any]]:
    if asked.district is not None:
        return f" AND {district} = %(district)s", {"district": asked.district}
    if asked.asset is not None:
        return f" AND {asset} = %(asset)s", {"asset": asked.asset}
    return "", {}


def _grid(asked: SeriesRequest, rows: list[tuple[Any, ...]]) -> list[tuple[datetime, Any]]:
    values = dict(rows)
    return [(bucket, values.get(bucket)) for bucket in asked.buckets]


async def kpi_series(conn: psycopg.AsyncConnection, asked: SeriesRequest
                     ) -> list[tuple[datetime, Any]]:
    """The KPI per bucket from the roll-up, every bucket of the range (None when empty)."""
    where, params = _filter(asked, "district", "asset_id")
    cur = await conn.execute(
        f"SELECT bucket, {asked.kpi.sql} FROM {asked.rollup.relation(asked.width)}"
        f" WHERE bucket >= %(start)s AND bucket < %(end)s{where}"
        " GROUP BY bucket ORDER BY bucket".encode(),
        {"start": floor(asked.start, asked.width), "end": ceil(asked.end, asked.width),
         **params})
    return _grid(asked, await cur.fetchall())


async def raw_kpi_series(conn: psycopg.AsyncConnection, asked: SeriesRequest,
                         targets: dict[str, float]) -> list[tuple[datetime, Any]]:
    """The same answer as `kpi_series`, computed from raw rows without the roll-ups."""
    rollup = asked.rollup
    where, params = _filter(asked, rollup.district, rollup.asset)
    inner = raw_select(rollup, where.removeprefix(" AND "))
    cur = await conn.execute(
        f"SELECT bucket, {asked.kpi.sql} FROM ({inner}) AS raw"
        " GROUP BY bucket ORDER BY bucket".encode(),
        {**parameters(targets), **params, "width": WIDTHS[asked.width],
         "start": floor(asked.start, asked.width), "end": ceil(asked.end, asked.width)})
    return _grid(asked, await cur.fetchall())


def _number(value: Any) -> float | int | None:
    if value is None:
        return None
    return value if isinstance(value, int) else float(value)


def points_json(points: list[tuple[datetime, Any]]) -> list[dict[str, Any]]:
    """Points as the API serves them."""
    return [{"t": bucket.isoformat(), "v": _number(value)} for bucket, value in points]


async def compare(conn: psycopg.AsyncConnection, asked: SeriesRequest, offset: timedelta
                  ) -> dict[str, Any]:
    """The range and the same range `offset` earlier, bucket by bucket: each point holds
    the current value, the earlier one, and their difference."""
    if offset % WIDTHS[asked.width]:
        raise SeriesError(f"the offset must be a whole number of {asked.width} buckets")
    earlier = SeriesRequest(asked.rollup, asked.kpi, asked.start - offset, asked.end - offset,
                            asked.width, asked.district, asked.asset)
    now_points = await kpi_series(conn, asked)
    then_points = await kpi_series(conn, earlier)
    aligned = []
    for (bucket, value), (then_bucket, then_value) in zip(now_points, then_points, strict=True):
        current, previous = _number(value), _number(then_value)
        aligned.append({
            "t": bucket.isoformat(), "t_previous": then_bucket.isoformat(),
            "v": current, "v_previous": previous,
            "delta": None if current is None or previous is None else current - previous,
        })
    return {**asked.to_json(), "offset_s": int(offset.total_seconds()),
            "previous": {"start": earlier.start.isoformat(), "end": earlier.end.isoformat()},
            "points": aligned}
