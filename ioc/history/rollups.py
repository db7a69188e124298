"""Every feed's KPI roll-ups: what each one carries, and the SQL that computes its buckets.

A roll-up is one relation per width, `<name>_1m`, `<name>_15m` and `<name>_1h`, with the
columns (bucket, asset_id, district, measures…); `district` is '' for rows outside every
district. The relations are tables kept by `ioc.history.maintainer` on plain PostgreSQL and,
for the roll-ups a continuous aggregate can express, TimescaleDB continuous aggregates
(migration 008). Both carry the same names and columns.

Measures are only counts, sums and maxima, never averages or distinct counts, so a coarse
bucket is exactly the sum (or maximum) of its fine ones, and a KPI over any set of assets
and buckets is a ratio of sums. That is why a roll-up's answer equals the one computed from
raw rows (tested, and timed by bench/history.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from geo import CityPack

# Buckets start at whole multiples of their width from this origin, TimescaleDB's default
# for time_bucket, so both modes cut time at the same instants.
ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)
WIDTHS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1), "15m": timedelta(minutes=15), "1h": timedelta(hours=1),
}
DEFAULT_TARGET_WAIT_MIN = 15.0


@dataclass(frozen=True, slots=True)
class Measure:
    """One column of a roll-up: its aggregate over raw rows, and how buckets combine."""

    name: str
    raw: str
    combine: Literal["sum", "max"]
    type: Literal["bigint", "double precision"] = "bigint"

    def combined(self) -> str:
        """The aggregate that merges finer buckets' values of this column."""
        if self.combine == "sum":
            return f"sum({self.name})::bigint" if self.type == "bigint" else f"sum({self.name})"
        return f"max({self.name})"


@dataclass(frozen=True, slots=True)
class Kpi:
    """A figure served by the history API: an aggregate over a roll-up's rows."""

    name: str
    sql: str
    unit: str
    description: str


@dataclass(frozen=True, slots=True)
class Rollup:
    """One feed's roll-up: where its rows come from, what it carries, the KPIs it serves."""

    name: str
    source: str
    time: str
    asset: str
    district: str
    asset_kind: str
    measures: tuple[Measure, ...]
    kpis: tuple[Kpi, ...]
    # Whether a TimescaleDB continuous aggregate can hold it (no joins, no parameters).
    continuous: bool
    description: str

    def relation(self, width: str) -> str:
        """The relation holding this roll-up at `width` ("1m", "15m" or "1h")."""
        if width not in WIDTHS:
            raise ValueError(f"unknown bucket width {width!r}")
        return f"{self.name}_{width}"

    def kpi(self, name: str) -> Kpi:
        """A KPI of this roll-up by name (KeyError when it has none of that name)."""
        for kpi in self.kpis:
            if kpi.name == name:
                return kpi
        raise KeyError(name)

    @property
    def columns(self) -> list[str]:
        """The relation's columns in order."""
        return ["bucket", "asset_id", "district", *(m.name for m in self.measures)]


def _ratio(numerator: str, denominator: str) -> str:
    return f"sum({numerator})::float8 / nullif(sum({denominator}), 0)"


def _count(name: str, condition: str) -> Measure:
    return Measure(name, f"count(*) FILTER (WHERE {condition})", "sum")


PARKING = Rollup(
    name="parking", source="parking_occupancy", time="time", asset="site_id",
    district="district", asset_kind="car park",
    description="Car-park occupancy readings, all vehicle types together.",
    continuous=True,
    measures=(
        Measure("samples", "count(*)", "sum"),
        Measure("occupied_sum", "sum(occupied)::bigint", "sum"),
        Measure("capacity_sum", "sum(capacity)::bigint", "sum"),
        Measure("peak_share", "max(occupied::float8 / nullif(capacity, 0))", "max",
                "double precision"),
    ),
    kpis=(
        Kpi("occupancy", _ratio("occupied_sum", "capacity_sum"), "share (0-1)",
            "occupied places / places, summed over every reading in the bucket"),
        Kpi("peak_occupancy", "max(peak_share)", "share (0-1)",
            "the highest occupancy of one car park and vehicle type in one reading"),
        Kpi("readings", "sum(samples)::bigint", "count", "occupancy readings received"),
    ),
)

# A ticket's wait is from its 'issued' event to its 'called' one (the same pairing as the
# live KPIs in ioc/kpis.py), counted in the bucket of the call, against its desk's target.
# The pairing is a self-join, which a continuous aggregate cannot hold.
_QUEUE_SOURCE = (
    "queue_ticket_events e"
    " LEFT JOIN LATERAL (SELECT (extract(epoch FROM e.time - min(x.time)) * 1000)::bigint"
    " AS wait_ms FROM queue_ticket_events x WHERE e.event = 'called'"
    " AND x.point_id = e.point_id AND x.ticket_id = e.ticket_id AND x.event = 'issued'"
    " AND x.time <= e.time AND x.time > e.time - interval '1 day') w ON true"
    " LEFT JOIN unnest(%(target_points)s::text[], %(target_minutes)s::float8[])"
    " AS t(point_id, target_min) ON t.point_id = e.point_id"
)

QUEUES = Rollup(
    name="queues", source=_QUEUE_SOURCE, time="e.time", asset="e.point_id",
    district="e.district", asset_kind="service point",
    description="One-stop-shop tickets: issued, called, served, and waits until called.",
    continuous=False,
    measures=(
        _count("issued", "e.event = 'issued'"),
        _count("called", "e.event = 'called'"),
        _count("served", "e.event = 'served'"),
        _count("no_shows", "e.event = 'no_show'"),
        Measure("waits", "count(w.wait_ms)", "sum"),
        Measure("wait_sum_ms", "sum(w.wait_ms)::bigint", "sum"),
        Measure("wait_max_ms", "max(w.wait_ms)", "max"),
        _count("within_target",
               f"w.wait_ms <= coalesce(t.target_min, {DEFAULT_TARGET_WAIT_MIN}) * 60000"),
    ),
    kpis=(
        Kpi("tickets_issued", "sum(issued)::bigint", "count", "tickets issued at the kiosks"),
        Kpi("tickets_served", "sum(served)::bigint", "count", "tickets whose service ended"),
        Kpi("no_show_share", "sum(no_shows)::float8 / nullif(sum(served) + sum(no_shows), 0)",
            "share (0-1)", "tickets called with nobody coming / tickets finished"),
        Kpi("wait_mean_min", "sum(wait_sum_ms)::float8 / nullif(sum(waits), 0) / 60000",
            "minutes", "mean wait from issue to call, over tickets called in the bucket"),
        Kpi("wait_max_min", "max(wait_max_ms)::float8 / 60000", "minutes",
            "longest wait from issue to call of a ticket called in the bucket"),
        Kpi("service_level", _ratio("within_target", "waits"), "share (0-1)",
            "tickets called within their desk's target wait / tickets called"),
    ),
)

SIGNALS = Rollup(
    name="signals", source="signal_events", time="time", asset="signal_id",
    district="district", asset_kind="signal",
    description="High-resolution controller events (Indiana enumeration) counted by kind.",
    continuous=True,
    measures=(
        Measure("events", "count(*)", "sum"),
        _count("greens", "event_code = 1"),
        _count("gap_outs", "event_code = 4"),
        _count("max_outs", "event_code = 5"),
        _count("force_offs", "event_code = 6"),
        _count("ped_calls", "event_code = 45"),
        _count("detector_on", "event_code = 82"),
        _count("detector_faults", "event_code BETWEEN 84 AND 88"),
        _count("flash_events", "event_code = 173 AND parameter <> 2"),
        _count("preempts", "event_code = 102"),
        _count("power_failures", "event_code = 182"),
    ),
    kpis=(
        Kpi("events", "sum(events)::bigint", "count", "controller events logged"),
        Kpi("greens", "sum(greens)::bigint", "count", "phase greens begun (event 1)"),
        Kpi("detector_actuations", "sum(detector_on)::bigint", "count",
            "detector on events (82): vehicles detected"),
        Kpi("ped_calls", "sum(ped_calls)::bigint", "count", "pedestrian calls (event 45)"),
        Kpi("max_out_share",
            "sum(max_outs)::float8 / nullif(sum(gap_outs) + sum(max_outs) + sum(force_offs), 0)",
            "share (0-1)", "phase terminations by max-out / all terminations"),
        Kpi("force_off_share",
            "sum(force_offs)::float8 / nullif(sum(gap_outs) + sum(max_outs) + sum(force_offs), 0)",
            "share (0-1)", "phase terminations by force-off / all terminations"),
        Kpi("detector_faults", "sum(detector_faults)::bigint", "count",
            "detector fault events (84-88)"),
        Kpi("flash_events", "sum(flash_events)::bigint", "count",
            "unit flash status changes to a flashing state (event 173)"),
        Kpi("preemptions", "sum(preempts)::bigint", "count", "preemption calls (event 102)"),
        Kpi("power_failures", "sum(power_failures)::bigint", "count",
            "power failures (event 182)"),
    ),
)

_CROWDED = ("'STANDING_ROOM_ONLY', 'CRUSHED_STANDING_ROOM_ONLY', 'FULL', "
            "'NOT_ACCEPTING_PASSENGERS'")

BRT = Rollup(
    name="brt", source="brt_vehicle_positions", time="time", asset="coalesce(route_id, '')",
    district="district", asset_kind="BRT route",
    description="BRT vehicle positions (GTFS-Realtime) by route.",
    continuous=True,
    measures=(
        Measure("reports", "count(*)", "sum"),
        _count("stopped", "status = 'STOPPED_AT'"),
        Measure("occupancy_known", "count(occupancy)", "sum"),
        _count("crowded", f"occupancy IN ({_CROWDED})"),
    ),
    kpis=(
        Kpi("position_reports", "sum(reports)::bigint", "count", "vehicle positions received"),
        Kpi("stopped_share", _ratio("stopped", "reports"), "share (0-1)",
            "positions reported stopped at a station / all positions"),
        Kpi("crowded_share", _ratio("crowded", "occupancy_known"), "share (0-1)",
            "positions with standing room only or fuller / positions with an occupancy"),
    ),
)

TAPS = Rollup(
    name="taps", source="brt_taps", time="time", asset="stop_id", district="district",
    asset_kind="BRT station",
    description="Smart-card taps at BRT stations (boardings); cards never leave the raw table.",
    continuous=True,
    measures=(Measure("taps", "count(*)", "sum"),),
    kpis=(Kpi("boardings", "sum(taps)::bigint", "count", "smart-card taps at the gates"),),
)

ROLLUPS: dict[str, Rollup] = {r.name: r for r in (PARKING, QUEUES, SIGNALS, BRT, TAPS)}


def queue_targets(pack: CityPack) -> dict[str, float]:
    """Each service point's target wait in minutes, from the city pack."""
    return {
        str(f["properties"]["id"]):
            float(f["properties"].get("target_wait_min") or DEFAULT_TARGET_WAIT_MIN)
        for f in pack.asset_features("service_points")
    }


def parameters(targets: dict[str, float]) -> dict[str, Any]:
    """The query parameters every roll-up's SQL may use besides its range."""
    return {"origin": ORIGIN, "target_points": list(targets),
            "target_minutes": list(targets.values())}


def floor(at: datetime, width: str) -> datetime:
    """The start of the bucket of `width` holding `at`."""
    step = WIDTHS[width]
    return ORIGIN + ((at - ORIGIN) // step) * step


def ceil(at: datetime, width: str) -> datetime:
    """The first bucket boundary of `width` at or after `at`."""
    start = floor(at, width)
    return start if start == at else start + WIDTHS[width]


def raw_select(rollup: Rollup, where: str = "") -> str:
    """Buckets of `%(width)s` per asset and district computed from raw rows in
    [%(start)s, %(end)s), with an optional extra condition on raw columns."""
    measures = ", ".join(f"{m.raw} AS {m.name}" for m in rollup.measures)
    extra = f" AND {where}" if where else ""
    return (
        f"SELECT date_bin(%(width)s::interval, {rollup.time}, %(origin)s::timestamptz)"
        f" AS bucket, {rollup.asset} AS asset_id, coalesce({rollup.district}, '') AS district,"
        f" {measures} FROM {rollup.source}"
        f" WHERE {rollup.time} >= %(start)s AND {rollup.time} < %(end)s{extra}"
        " GROUP BY 1, 2, 3"
    )


def combine_select(rollup: Rollup, finer: str) -> str:
    """Buckets of `%(width)s` per asset and district merged from the `finer` relation's
    buckets in [%(start)s, %(end)s)."""
    measures = ", ".join(f"{m.combined()} AS {m.name}" for m in rollup.measures)
    return (
        f"SELECT date_bin(%(width)s::interval, bucket, %(origin)s::timestamptz) AS bucket,"
        f" asset_id, district, {measures} FROM {rollup.relation(finer)}"
        " WHERE bucket >= %(start)s AND bucket < %(end)s GROUP BY 1, 2, 3"
    )
